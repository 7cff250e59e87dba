import { TarpushError } from '../errors.js';
import { isDigest, sha256, type Digest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { discard, readBytes } from './body.js';
import { safeUrl } from './errors.js';
import { checkManifestReference } from './names.js';
import { withReadRetries } from './read-retry.js';
import { MANIFEST_MAX } from './options.js';
import type { Repository } from './repository.js';
import { pullScope, pushScope } from './scope.js';
import { header } from './transport.js';

/**
 * Manifests: PUT under a tag or digest, GET and HEAD. Every digest the registry reports is
 * checked against the bytes: a PUT's Docker-Content-Digest must equal sha256 of what we
 * sent, a GET's bytes must hash to the header and to the digest asked for.
 */

/** What we accept by default: single images and indexes, docker and OCI. */
export const DEFAULT_MANIFEST_ACCEPT = [
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.ociIndex,
] as const;

function mediaTypeOf(contentType: string | undefined): string | undefined {
  const m = contentType?.split(';')[0]?.trim().toLowerCase();
  return m && m !== 'application/json' && m !== 'text/plain' && m !== 'application/octet-stream' ? m : undefined;
}

function mismatch(what: string, expected: string, actual: string, url: URL, why: string): TarpushError {
  return new TarpushError('REGISTRY_DIGEST_MISMATCH', `${what}: ${why} (expected ${expected}, got ${actual})`, {
    expected,
    actual,
    url: safeUrl(url),
  });
}

export async function putManifest(repo: Repository, reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
  checkManifestReference(reference);
  const digest = sha256(raw);
  const what = `manifest ${repo.name}${isDigest(reference) ? '@' : ':'}${reference}`;
  if (isDigest(reference) && reference !== digest) {
    throw new TarpushError('DIGEST_MISMATCH', `${what}: the manifest bytes hash to ${digest}, not to the digest it is pushed under`, {
      expected: reference,
      actual: digest,
    });
  }
  const resp = await repo.client.request({
    method: 'PUT',
    path: repo.apiPath(`manifests/${reference}`),
    scopes: [pushScope(repo.repository)],
    headers: { 'content-type': mediaType },
    body: () => raw,
    retry: 'idempotent', // the same bytes under the same name: repeating is harmless
    what,
  });
  if (resp.status < 200 || resp.status >= 300) throw await repo.client.failure(resp, what, 'PUT');
  await discard(resp);
  const reported = header(resp, 'docker-content-digest');
  if (reported !== undefined && reported !== digest) {
    throw mismatch(what, digest, reported, resp.url, 'the registry stored the manifest under another digest');
  }
  return digest;
}

export interface FetchedManifest {
  raw: Buffer;
  mediaType: string;
  digest: Digest;
}

export async function getManifest(repo: Repository, reference: string, opts: { accept?: readonly string[] } = {}): Promise<FetchedManifest> {
  checkManifestReference(reference);
  const what = `manifest ${repo.name}${isDigest(reference) ? '@' : ':'}${reference}`;
  return withReadRetries(repo.client, what, async (budget) => {
    const resp = await repo.client.request({
      method: 'GET',
      path: repo.apiPath(`manifests/${reference}`),
      scopes: [pullScope(repo.repository)],
      headers: { accept: (opts.accept ?? DEFAULT_MANIFEST_ACCEPT).join(', ') },
      what,
      budget,
    });
    if (resp.status !== 200) throw await repo.client.failure(resp, what, 'GET');
    const raw = await readBytes(resp, MANIFEST_MAX, what);
    const digest = sha256(raw);
    const reported = header(resp, 'docker-content-digest');
    if (reported !== undefined && reported.startsWith('sha256:') && reported !== digest) {
      throw mismatch(what, reported, digest, resp.url, 'the bytes served do not hash to the Docker-Content-Digest header');
    }
    if (isDigest(reference) && reference !== digest) {
      throw mismatch(what, reference, digest, resp.url, 'the bytes served do not hash to the digest asked for');
    }
    let mediaType = mediaTypeOf(header(resp, 'content-type'));
    if (!mediaType) {
      try {
        const parsed = JSON.parse(raw.toString('utf8')) as { mediaType?: unknown };
        if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
      } catch {
        throw new TarpushError('MANIFEST_INVALID', `${what}: the registry served something that is not JSON`, { url: safeUrl(resp.url) });
      }
    }
    if (!mediaType) {
      throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${what}: neither Content-Type nor the manifest say its media type`, { url: safeUrl(resp.url) });
    }
    return { raw, mediaType, digest };
  });
}

export async function headManifest(
  repo: Repository,
  reference: string,
  opts: { accept?: readonly string[] } = {},
): Promise<{ digest: Digest; mediaType: string; size: number } | undefined> {
  checkManifestReference(reference);
  const what = `manifest ${repo.name}${isDigest(reference) ? '@' : ':'}${reference}`;
  const resp = await repo.client.request({
    method: 'HEAD',
    path: repo.apiPath(`manifests/${reference}`),
    scopes: [pullScope(repo.repository)],
    headers: { accept: (opts.accept ?? DEFAULT_MANIFEST_ACCEPT).join(', ') },
    what,
  });
  await discard(resp);
  if (resp.status === 404) return undefined;
  if (resp.status !== 200) throw await repo.client.failure(resp, what, 'HEAD');
  const reported = header(resp, 'docker-content-digest');
  const mediaType = mediaTypeOf(header(resp, 'content-type'));
  const size = Number(header(resp, 'content-length'));
  if (reported === undefined || !isDigest(reported) || !mediaType || !Number.isFinite(size)) {
    // Some registries leave these out of HEAD answers: the GET tells all.
    const m = await getManifest(repo, reference, opts);
    return { digest: m.digest, mediaType: m.mediaType, size: m.raw.length };
  }
  if (isDigest(reference) && reported !== reference) {
    throw mismatch(what, reference, reported, resp.url, 'the registry reports another digest for it');
  }
  return { digest: reported, mediaType, size };
}
