import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { discard, readBytes } from './body.js';
import { networkError, safeUrl } from './errors.js';
import { withReadRetries } from './read-retry.js';
import { header } from './transport.js';
import type { Repository } from './repository.js';
import type { RetryBudget } from './retry.js';
import { pullScope } from './scope.js';

/**
 * Reading blobs: existence (HEAD), streamed download and small bounded reads. Downloads
 * follow redirects to storage hosts without our Authorization header (the transport drops
 * it when the origin changes) and check the digest of what arrived.
 */

/** HEAD the blob: true on 200, false on 404; anything else is an error. */
/**
 * Whether the repository holds the blob. With `size`, a blob the registry reports with
 * another length counts as absent: the caller's knowledge (a cache hint) was wrong, and an
 * upload of the real bytes is the safe answer.
 */
export async function hasBlob(repo: Repository, digest: Digest, size?: number): Promise<boolean> {
  const method = 'HEAD';
  const resp = await repo.client.request({
    method,
    path: repo.apiPath(`blobs/${digest}`),
    scopes: [pullScope(repo.repository)],
    what: `blob ${repo.name}@${digest}`,
  });
  if (resp.status === 200) {
    await discard(resp);
    const length = header(resp, 'content-length');
    return size === undefined || length === undefined || Number(length) === size;
  }
  if (resp.status === 404) {
    await discard(resp);
    return false;
  }
  throw await repo.client.failure(resp, `blob ${repo.name}@${digest}`, method);
}

function mismatch(repo: Repository, digest: Digest, actual: string, url: URL): TarpushError {
  return new TarpushError(
    'REGISTRY_DIGEST_MISMATCH',
    `blob ${repo.name}@${digest}: the bytes served by ${safeUrl(url)} hash to ${actual}`,
    { expected: digest, actual, url: safeUrl(url) },
  );
}

/**
 * Stream a blob. The stream errors with REGISTRY_DIGEST_MISMATCH at its end when the bytes do
 * not hash to `digest`, and with NETWORK_ERROR when the download breaks off. Destroying it
 * releases the connection.
 */
export async function getBlob(repo: Repository, digest: Digest): Promise<Readable> {
  const method = 'GET';
  const what = `blob ${repo.name}@${digest}`;
  const resp = await requestBlob(repo, digest, what);
  const hash = createHash('sha256');
  const url = resp.url;
  const verifier = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `sha256:${hash.digest('hex')}`;
      cb(actual === digest ? null : mismatch(repo, digest, actual, url));
    },
  });
  // Not stream.pipeline: it would end the verifier with the raw socket error first.
  resp.body.on('error', (err) => verifier.destroy(err instanceof TarpushError ? err : networkError(err, method, url, what)));
  verifier.on('close', () => {
    if (!resp.body.destroyed) resp.body.destroy(); // abandoned download: release the connection
  });
  resp.body.pipe(verifier);
  return verifier;
}

/** GET a blob; anything but 200 becomes the registry's typed error. */
async function requestBlob(repo: Repository, digest: Digest, what: string, budget?: RetryBudget) {
  const resp = await repo.client.request({
    method: 'GET',
    path: repo.apiPath(`blobs/${digest}`),
    scopes: [pullScope(repo.repository)],
    what,
    ...(budget ? { budget } : {}),
  });
  if (resp.status !== 200) throw await repo.client.failure(resp, what, 'GET');
  return resp;
}

/** A small blob (a config) in memory, at most `maxBytes`, digest checked; retried when the body breaks off. */
export async function getBlobBytes(repo: Repository, digest: Digest, maxBytes: number): Promise<Buffer> {
  const what = `blob ${repo.name}@${digest}`;
  return withReadRetries(repo.client, what, async (budget) => {
    const resp = await requestBlob(repo, digest, what, budget);
    const bytes = await readBytes(resp, maxBytes, what);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw mismatch(repo, digest, actual, resp.url);
    return bytes;
  });
}
