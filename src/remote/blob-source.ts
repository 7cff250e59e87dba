import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ByteSource } from '../image/types.js';
import { pullScope, type Repository } from '../registry/index.js';
import { discard } from '../registry/body.js';
import { isTransientNetworkError, networkError, safeUrl } from '../registry/errors.js';
import { RetryBudget } from '../registry/retry.js';

/**
 * A blob in a registry as a ByteSource: `open(start, end)` GETs the blob, with
 * `Range: bytes=start-(end-1)` unless the whole blob is asked for, and streams the body.
 * When the body breaks off (a reset, an idle timeout, an early end) the rest is asked for
 * again from the offset reached, spending the client's retry budget (transport retries
 * and these resumes share it; bytes arriving start a new run of retries), so a long
 * download survives sporadic resets without starting over. A registry that ignores Range
 * (200 with the whole blob) is read past the bytes not wanted.
 *
 * A read of the whole blob is checked against the digest at its end
 * (REGISTRY_DIGEST_MISMATCH); a partial read cannot be, and is checked for length only.
 */

export function registryBlobSource(repo: Repository, digest: Digest, size: number): ByteSource {
  const location = `${repo.name}@${digest}`;
  return {
    size,
    location,
    open(start = 0, end = size) {
      if (start < 0 || end > size || start > end) throw new RangeError(`range ${start}-${end} outside 0-${size} of ${location}`);
      return Readable.from(blobChunks(repo, digest, size, start, end), { objectMode: false, highWaterMark: 1 << 20 });
    },
  };
}

/** The Content-Range start of a 206 answer (`bytes 100-199/1000`), or undefined. */
function rangeStart(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(v?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The chunks of bytes [start, end) of the blob, as `open()` streams them. Iterated directly,
 * every chunk is handed over before a digest mismatch is thrown (a Readable erroring drops
 * what it had buffered), which is what a verb printing the bytes as they come needs.
 */
export async function* blobChunks(repo: Repository, digest: Digest, size: number, start = 0, end = size): AsyncGenerator<Buffer> {
  const what = `blob ${repo.name}@${digest}`;
  const whole = start === 0 && end === size;
  const hash = whole ? createHash('sha256') : undefined;
  const budget = new RetryBudget(repo.client.options);
  let offset = start;
  while (offset < end) {
    const ranged = offset > 0 || end < size;
    const resp = await repo.client.request({
      method: 'GET',
      path: repo.apiPath(`blobs/${digest}`),
      scopes: [pullScope(repo.repository)],
      headers: ranged ? { range: `bytes=${offset}-${end - 1}` } : {},
      what,
      budget,
    });
    // Bytes of the answer to drop before `offset` (a 200 to a ranged request starts at 0).
    let skip: number;
    if (resp.status === 206) {
      const from = rangeStart(resp.headers['content-range']);
      if (from === undefined || from > offset) {
        await discard(resp);
        throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(resp.url)} answered bytes=${offset}-${end - 1} with Content-Range ${JSON.stringify(String(resp.headers['content-range']))}`, {
          url: safeUrl(resp.url),
          status: 206,
        });
      }
      skip = offset - from;
    } else if (resp.status === 200) {
      skip = offset;
    } else {
      throw await repo.client.failure(resp, what, 'GET');
    }
    const before = offset;
    let broke: unknown;
    try {
      for await (const chunk of resp.body) {
        let buf = chunk as Buffer;
        if (skip > 0) {
          const drop = Math.min(skip, buf.length);
          skip -= drop;
          buf = buf.subarray(drop);
        }
        if (buf.length > end - offset) buf = buf.subarray(0, end - offset);
        if (buf.length === 0) {
          if (offset >= end) break;
          continue;
        }
        hash?.update(buf);
        offset += buf.length;
        yield buf;
        if (offset >= end) break;
      }
    } catch (err) {
      broke = err;
    } finally {
      // Abandoned (the reader stopped, or the range is done): release the connection.
      if (!resp.body.destroyed) {
        resp.body.on('error', () => {});
        resp.body.destroy();
      }
    }
    if (offset >= end) break;
    if (broke !== undefined && !isTransientNetworkError(broke)) throw networkError(broke, 'GET', resp.url, what);
    if (offset > before) budget.progressed();
    const reason = broke === undefined ? 'body ended early' : 'body broke off';
    if (!(await budget.retry({ method: 'GET', url: what }, reason))) {
      if (broke !== undefined) throw networkError(broke, 'GET', resp.url, what);
      throw new TarpushError('NETWORK_ERROR', `${what}: ${safeUrl(resp.url)} ended the body after ${offset - start} of ${end - start} bytes`, {
        url: safeUrl(resp.url),
        method: 'GET',
      });
    }
  }
  if (hash) {
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) {
      throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `${what}: the bytes served hash to ${actual}`, { expected: digest, actual });
    }
  }
}

/**
 * The size of a blob from a HEAD (Content-Length), for opening it as a source when no
 * descriptor says it; NOT_FOUND on 404, undefined when the answer states no length.
 */
export async function blobSize(repo: Repository, digest: Digest): Promise<number | undefined> {
  const what = `blob ${repo.name}@${digest}`;
  const resp = await repo.client.request({ method: 'HEAD', path: repo.apiPath(`blobs/${digest}`), scopes: [pullScope(repo.repository)], what });
  if (resp.status === 404) {
    await discard(resp);
    throw new TarpushError('NOT_FOUND', `${what} not found`, { registryCode: 'BLOB_UNKNOWN', status: 404 });
  }
  if (resp.status !== 200) throw await repo.client.failure(resp, what, 'HEAD');
  await discard(resp);
  const length = Number(resp.headers['content-length']);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}
