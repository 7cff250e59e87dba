import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { discard, readBytes } from './body.js';
import { isTransientNetworkError, networkError, safeUrl } from './errors.js';
import type { Repository } from './repository.js';
import { pullScope } from './scope.js';
import { backoffDelay, header } from './transport.js';

/**
 * Reading blobs: existence (HEAD), streamed download and small bounded reads. Downloads
 * follow redirects to storage hosts without our Authorization header (the transport drops
 * it when the origin changes) and check the digest of what arrived.
 */

/** HEAD the blob: true on 200, false on 404; anything else is an error. */
export async function hasBlob(repo: Repository, digest: Digest): Promise<boolean> {
  const method = 'HEAD';
  const resp = await repo.client.request({
    method,
    path: repo.apiPath(`blobs/${digest}`),
    scopes: [pullScope(repo.repository)],
    what: `blob ${repo.name}@${digest}`,
  });
  if (resp.status === 200) {
    await discard(resp);
    return true;
  }
  if (resp.status === 404) {
    await discard(resp);
    return false;
  }
  throw await repo.client.failure(resp, `blob ${repo.name}@${digest}`, method);
}

/** Size and digest the registry reports for a blob, without downloading it. */
export async function statBlob(repo: Repository, digest: Digest): Promise<{ size: number } | undefined> {
  const resp = await repo.client.request({
    method: 'HEAD',
    path: repo.apiPath(`blobs/${digest}`),
    scopes: [pullScope(repo.repository)],
    what: `blob ${repo.name}@${digest}`,
  });
  await discard(resp);
  if (resp.status === 404) return undefined;
  if (resp.status !== 200) throw await repo.client.failure(resp, `blob ${repo.name}@${digest}`, 'HEAD');
  return { size: Number(header(resp, 'content-length') ?? NaN) };
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
  const resp = await repo.client.request({
    method,
    path: repo.apiPath(`blobs/${digest}`),
    scopes: [pullScope(repo.repository)],
    what,
  });
  if (resp.status !== 200) throw await repo.client.failure(resp, what, method);
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
  pipeline(resp.body, verifier, (err) => {
    if (err && !verifier.destroyed) verifier.destroy(err instanceof TarpushError ? err : networkError(err, method, url, what));
  });
  return verifier;
}

/** A small blob (a config) in memory, at most `maxBytes`, digest checked; retried when the body breaks off. */
export async function getBlobBytes(repo: Repository, digest: Digest, maxBytes: number): Promise<Buffer> {
  const method = 'GET';
  const what = `blob ${repo.name}@${digest}`;
  const opts = repo.client.options;
  for (let attempt = 1; ; attempt++) {
    const resp = await repo.client.request({
      method,
      path: repo.apiPath(`blobs/${digest}`),
      scopes: [pullScope(repo.repository)],
      what,
    });
    if (resp.status !== 200) throw await repo.client.failure(resp, what, method);
    let bytes: Buffer;
    try {
      bytes = await readBytes(resp, maxBytes, what);
    } catch (err) {
      if (attempt >= opts.tries || !isTransientNetworkError(err)) throw err;
      const delayMs = backoffDelay(attempt, opts.retryBaseMs, opts.maxRetryWaitMs);
      opts.log({ type: 'retry', method, url: safeUrl(resp.url), attempt, delayMs, reason: 'body broke off' });
      await sleep(delayMs);
      continue;
    }
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw mismatch(repo, digest, actual, resp.url);
    return bytes;
  }
}
