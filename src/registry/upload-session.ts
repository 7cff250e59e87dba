import { discard } from './body.js';
import { type RegistryResponse } from './client.js';
import { resolveLocation, withQuery } from './location.js';
import type { Repository } from './repository.js';
import type { RetryBudget } from './retry.js';
import { deleteScope, pushScope } from './scope.js';
import { header, type RequestBody, type RetryPolicy } from './transport.js';

/**
 * One blob upload session: the URL the registry handed out (always the newest Location,
 * which may be relative, carry its own query, or point at another host), and the requests
 * on it — PATCH, status GET, closing PUT, cancel.
 */

/** Parse `Range: 0-<last>` (distribution also writes `bytes=0-<last>`): bytes stored, or undefined. */
export function storedBytes(range: string | undefined): number | undefined {
  if (range === undefined) return undefined;
  const m = /^(?:bytes=)?\s*(\d+)\s*-\s*(-?\d+)\s*$/.exec(range.trim());
  if (!m) return undefined;
  const last = Number(m[2]);
  // distribution 2.8 answers "0-0" for an empty session, the same as for one stored byte.
  // Reading it as empty is right in practice; were one byte stored, the closing PUT fails
  // DIGEST_INVALID and the ladder starts over.
  return last <= 0 ? 0 : last + 1;
}

export class UploadSession {
  constructor(
    private readonly repo: Repository,
    public location: URL,
    /** OCI-Chunk-Min-Length the registry announced, if any. */
    readonly minChunk: number | undefined,
    /** The upload's retry budget, shared by every request on the session. */
    private readonly budget?: RetryBudget,
  ) {}

  private get spending(): { budget?: RetryBudget } {
    return this.budget ? { budget: this.budget } : {};
  }

  private get what(): string {
    return `blob upload to ${this.repo.name}`;
  }

  /** Take the newest Location from an answer on this session. */
  follow(resp: RegistryResponse): void {
    const loc = header(resp, 'location');
    if (loc) this.location = resolveLocation(resp.url, loc, this.what);
  }

  /** Start a session from a POST answer (202 + Location). */
  static fromAnswer(repo: Repository, resp: RegistryResponse, budget?: RetryBudget): UploadSession {
    const location = resolveLocation(resp.url, header(resp, 'location'), `blob upload to ${repo.name}`);
    const min = Number(header(resp, 'oci-chunk-min-length'));
    return new UploadSession(repo, location, Number.isFinite(min) && min > 0 ? min : undefined, budget);
  }

  /** Send bytes with PATCH; the answer is returned (Location followed when it is a success). */
  async patch(body: () => RequestBody, range: { start: number; end: number } | undefined, retry: RetryPolicy = 'never'): Promise<RegistryResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (range) {
      headers['content-length'] = String(range.end - range.start);
      // Content-Range without a "bytes " prefix: the form the distribution spec uses.
      if (range.end > range.start) headers['content-range'] = `${range.start}-${range.end - 1}`;
    }
    const resp = await this.repo.client.request({
      method: 'PATCH',
      url: this.location,
      scopes: [pushScope(this.repo.repository)],
      headers,
      body,
      retry,
      ...this.spending,
      what: this.what,
    });
    if (resp.status >= 200 && resp.status < 300) this.follow(resp);
    return resp;
  }

  /** Bytes the registry holds for this session, or undefined when the session is gone. */
  async stored(): Promise<number | undefined> {
    const resp = await this.repo.client.request({
      method: 'GET',
      url: this.location,
      scopes: [pushScope(this.repo.repository)],
      ...this.spending,
      what: this.what,
    });
    await discard(resp);
    if (resp.status === 204 || resp.status === 200) {
      this.follow(resp);
      return storedBytes(header(resp, 'range')) ?? 0;
    }
    if (resp.status === 404 || resp.status === 400 || resp.status === 410) return undefined;
    throw await this.repo.client.failure(resp, this.what, 'GET');
  }

  /** The closing PUT `?digest=`, with the last bytes or none. */
  put(digest: string, body?: { produce: () => RequestBody; start: number; end: number; total: number }): Promise<RegistryResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (body) {
      headers['content-length'] = String(body.end - body.start);
      if (body.start > 0 && body.end > body.start) headers['content-range'] = `${body.start}-${body.end - 1}`;
    } else {
      headers['content-length'] = '0';
    }
    return this.repo.client.request({
      method: 'PUT',
      url: withQuery(this.location, { digest }),
      scopes: [pushScope(this.repo.repository)],
      headers,
      ...(body ? { body: body.produce, retry: 'never' as const } : { retry: 'idempotent' as const }),
      ...this.spending,
      what: `blob upload ${this.repo.name}@${digest}`,
    });
  }

  /** Abandon the session (best effort: a failure here changes nothing for the caller). */
  async cancel(): Promise<void> {
    try {
      // distribution wants the `delete` action to cancel an upload; a token server grants what
      // it may, and without it the registry simply keeps the session until it expires.
      const resp = await this.repo.client.request({
        method: 'DELETE',
        url: this.location,
        scopes: [pushScope(this.repo.repository), deleteScope(this.repo.repository)],
        retry: 'never',
        reauthenticate: false,
        what: this.what,
      });
      await discard(resp);
    } catch {
      // the registry expires abandoned sessions on its own
    }
  }
}
