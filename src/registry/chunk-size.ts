import { TarpushError } from '../errors.js';
import { formatBytes } from '../util/format-bytes.js';
import { DEFAULT_CHUNK, MIN_CHUNK } from './options.js';
import type { Repository } from './repository.js';
import type { UploadSession } from './upload-session.js';

/**
 * Chunk sizing of PATCH uploads, shared by both ladders: what the user forced, what the
 * registry was seen to accept (learned on the client, so later blobs start small), and the
 * minimum it announced (OCI-Chunk-Min-Length).
 */

/**
 * Chunk size to use now: the forced size (or the default), cut to what the registry was seen
 * to accept, never below the minimum the registry announced.
 */
export function chunkSizeFor(repo: Repository, session: UploadSession): number {
  const c = Math.min(repo.client.options.chunkSize ?? DEFAULT_CHUNK, repo.client.features.maxBody ?? Infinity);
  return Math.max(c, session.minChunk ?? 1);
}

/** Learn from a body-size refusal (413/416): halve; throws when we cannot go smaller. */
export function shrinkAfterRefusal(repo: Repository, session: UploadSession | undefined, refusedBytes: number, digest: string): void {
  const features = repo.client.features;
  const next = Math.min(features.maxBody ?? Infinity, Math.floor(refusedBytes / 2), DEFAULT_CHUNK);
  const floor = Math.max(MIN_CHUNK, session?.minChunk ?? 0);
  if (next < floor) {
    throw new TarpushError(
      'REGISTRY_ERROR',
      `blob upload ${repo.name}@${digest}: the registry refuses request bodies of ${refusedBytes} bytes and chunks cannot be smaller than ${floor}`,
      { registry: repo.registry },
    );
  }
  features.maxBody = next;
  repo.client.options.log({ type: 'fallback', what: 'chunked', reason: `registry refused a body of ${formatBytes(refusedBytes)}; chunks of ${formatBytes(next)}` });
}
