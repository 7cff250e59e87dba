import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiffIdPool } from './verify-pool.js';
import { LayerChecker, type LayerVerified, type VerifyOptions } from './verify-stream.js';
import { walkImage } from './verify-walk.js';
import type { ByteSource, Layer, Manifestable } from './types.js';

/**
 * Content verification while bytes stream, in three files and one owner:
 *  - verify-pool.ts: the worker threads that decompress compressed layers (verify-worker.ts);
 *  - verify-stream.ts: the check of one full read (LayerChecker): on the main thread, as the
 *    bytes go by, the stored digest and size, the compression magic against the media type,
 *    and for uncompressed layers that the bytes are a tar (verify-tar.ts) whose digest is
 *    the diff_id; for compressed layers a pool worker decompresses the same bytes (reading
 *    the file range itself, or fed copies of the chunks), hashes the diff_id and checks the
 *    tar in that one pass, so an upload reads the archive once and still proves what the
 *    config's rootfs.diff_ids claim;
 *  - verify-walk.ts: the walk over an image or index (`inspect --verify`).
 * LayerVerifier (here) owns one pool; a publish holds one (publish/layer-checks.ts), and
 * nothing is kept at module level.
 *
 * zstd layers: Node 20's zlib has no zstd decoder, so there only their magic, stored digest
 * and size are checked, and the result says the diff_id was not (`diffIdChecked: false`).
 * Where node:zlib decodes zstd (Node ≥ 22.15) they are checked like gzip layers.
 */

export type { LayerVerified, VerifyOptions } from './verify-stream.js';
export { artifactBlobLayer } from './verify-walk.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // callers may not await it; the stream error still reports the failure
  return { promise, resolve, reject };
}

/**
 * Verifies layers. Owns the worker pool that decompresses layers; `close()` stops it (idle
 * workers never keep the process alive, so closing is only needed to free them at once).
 * Every check is the same whichever method runs it; failures are TarpushErrors:
 *   SIZE_MISMATCH, DIGEST_MISMATCH — the stored bytes are not the layer's size / digest;
 *   LAYER_INVALID — magic ≠ media type's compression, bytes that do not decompress, or an
 *     uncompressed stream that is not a tar;
 *   DIFF_ID_MISMATCH — the uncompressed digest is not the config's diff_id;
 *   ARCHIVE_UNREADABLE — the worker could not read the file range.
 */
export class LayerVerifier {
  private pool: DiffIdPool | undefined;
  private readonly getPool = (): DiffIdPool => (this.pool ??= new DiffIdPool());

  /**
   * Check a full read (bytes 0..size) of a layer that the caller opened itself: the returned
   * stream passes the bytes through, and errors on a wrong size, digest, magic or
   * (uncompressed) tar. `verified` resolves with what was proven once every check is done
   * (for compressed layers after the stream ended: the worker may still be decompressing),
   * and rejects with the first failure.
   */
  verifyingStream(layer: Layer, full: Readable, opts: VerifyOptions = {}): { stream: Readable; verified: Promise<LayerVerified> } {
    const d = deferred<LayerVerified>();
    const checker = new LayerChecker(layer, (err, ok) => (err ? d.reject(err) : d.resolve(ok!)), opts, this.getPool);
    pipeline(full, checker).catch(() => {}); // errors surface on `checker`, which the caller reads
    return { stream: checker, verified: d.promise };
  }

  /**
   * Wrap a layer's source so that every full read (0..size) is checked as verifyingStream
   * checks it, until one has passed. `verified` resolves once a full read has passed, and
   * rejects when one fails. A wrong size, digest, magic or uncompressed tar errors the
   * stream, so an upload reading it aborts before it commits the blob; a compressed layer's
   * diff_id and tar are still being checked when the stream ends, so a finding after that
   * only rejects `verified` (callers write no manifest before it settles). Partial reads
   * (resumed uploads) pass through unchecked, and `verified` stays pending until a full
   * read completes: callers that skip the upload must not await it (use verifyLayer).
   */
  verifyingSource(layer: Layer, opts: VerifyOptions = {}): { source: ByteSource; verified: Promise<LayerVerified> } {
    const d = deferred<LayerVerified>();
    let passed = false;
    const inner = layer.source;
    const source: ByteSource = {
      size: inner.size,
      location: inner.location,
      open: (start = 0, end = inner.size) => {
        const raw = inner.open(start, end);
        if (passed || start !== 0 || end !== inner.size) return raw;
        const v = this.verifyingStream(layer, raw, opts);
        v.verified.then((ok) => {
          passed = true;
          d.resolve(ok);
        }, d.reject);
        return v.stream;
      },
    };
    return { source, verified: d.promise };
  }

  /** Read a layer once, in full, from its source, and check it (nothing is uploaded). */
  async verifyLayer(layer: Layer, opts: VerifyOptions = {}): Promise<LayerVerified> {
    const { stream, verified } = this.verifyingStream(layer, layer.source.open(), opts);
    const sink = new Writable({ write: (_c, _e, cb) => cb(), highWaterMark: 1 << 20 });
    const [, ok] = await Promise.all([pipeline(stream, sink), verified]);
    return ok;
  }

  /**
   * Verify everything an image (or index, recursively) holds: manifest and config digests,
   * then every distinct layer with bounded parallelism (verify-walk.ts). Used by
   * `inspect --verify`.
   */
  verifyImage(item: Manifestable, opts: { concurrency?: number } = {}): Promise<void> {
    return walkImage(item, (l) => this.verifyLayer(l), opts);
  }

  /** Stop the workers (jobs in progress fail). The verifier can be used again afterwards. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.shutdown();
  }
}

/** Run `fn` with a verifier of its own, stopped when it is done. */
async function withVerifier<T>(fn: (v: LayerVerifier) => Promise<T>): Promise<T> {
  const v = new LayerVerifier();
  try {
    return await fn(v);
  } finally {
    await v.close();
  }
}

/** LayerVerifier.verifyLayer with a verifier of its own (library callers checking one layer). */
export function verifyLayer(layer: Layer, opts: VerifyOptions = {}): Promise<void> {
  return withVerifier(async (v) => void (await v.verifyLayer(layer, opts)));
}

/** LayerVerifier.verifyImage with a verifier of its own (library callers checking one image). */
export function verifyImage(item: Manifestable, opts: { concurrency?: number } = {}): Promise<void> {
  return withVerifier((v) => v.verifyImage(item, opts));
}
