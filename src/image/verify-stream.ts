import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { canDecompress } from '../compress/decompress.js';
import { detectCompression } from '../compress/detect.js';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { Digest } from './digest.js';
import { compressionOfMediaType, type Compression } from './media-types.js';
import { WorkerFailure, type DiffIdJob, type DiffIdPool } from './verify-pool.js';
import { TarStreamCheck } from './verify-tar.js';
import type { WorkerCompression } from './verify-worker.js';
import type { Layer } from './types.js';

/**
 * The check of one full read of a layer's stored bytes, as they stream by (LayerChecker):
 * stored digest and size, the compression magic against the media type, for uncompressed
 * layers that the bytes are a tar whose digest is the diff_id, and for compressed layers the
 * diff_id and tar as a pool worker (verify-pool.ts) finds them. What it may skip is what the
 * layer declares (Layer.diffIdDeclared) and what the caller asks (VerifyOptions).
 */

/** Whether the layer's manifest declares a diff_id to check (artifact blobs do not). */
export const diffIdDeclared = (layer: Layer): boolean => layer.diffIdDeclared !== false;

export interface VerifyOptions {
  /**
   * Check the diff_id of compressed layers (decompress, hash and walk the tar on a worker):
   * default true. Decompressing costs about 3 CPU-seconds per GB on the 2-core build machine
   * (see docs/decisions.md), so `push --no-verify-diff-ids` can trade the check for speed.
   * The stored digest and size, the compression magic, and the checks of uncompressed
   * layers (diff_id, tar) cost nothing extra and are always made.
   */
  diffIds?: boolean;
}

/** What one full read of a layer proved (the value `verified` resolves with). */
export interface LayerVerified {
  /** The stored bytes' digest and size (equal to the layer's: they were checked). */
  digest: Digest;
  size: number;
  /** Compression of the stored bytes (their magic, which matched the media type). */
  compression: Compression;
  /**
   * Whether the config's diff_id was proven for these bytes (and the uncompressed stream
   * proven a tar). False when not checked: `diffIds: false` on a compressed layer, zstd on a
   * Node without a zstd decoder, artifact layers (no diff_id declared). Only a true value
   * lets a caller record the (digest → diff_id) pair as verified.
   */
  diffIdChecked: boolean;
}

const where = (layer: Layer): string => `layer ${layer.digest} (${printable(layer.source.location)})`;

function mismatch(code: 'DIGEST_MISMATCH' | 'DIFF_ID_MISMATCH', layer: Layer, expected: string, actual: string, what: string): TarpushError {
  return new TarpushError(code, `${printable(layer.source.location)}: ${what} expected ${expected}, content has ${actual}`, {
    entry: layer.source.location,
    expected,
    actual,
  });
}

/** LAYER_INVALID: the bytes are not what the layer claims to be (compression, tar). */
function invalid(layer: Layer, what: string): TarpushError {
  return new TarpushError('LAYER_INVALID', `${where(layer)}: ${what}`, { entry: layer.source.location, digest: layer.digest, mediaType: layer.mediaType });
}

const compressionText = (c: Compression): string => (c === 'none' ? 'uncompressed' : c);

/** The compression the layer claims: its media type's, or (unknown media type) the detected one. */
const claimedCompression = (layer: Layer): Compression => compressionOfMediaType(layer.mediaType) ?? layer.compression;

/** A worker's finding (or failure) as the error a user acts on. */
function workerError(layer: Layer, compression: Compression, err: Error): Error {
  if (!(err instanceof WorkerFailure)) return err; // pool shut down, worker crashed: not about the bytes
  if (err.reason === 'tar') return invalid(layer, err.message);
  if (err.reason === 'decompress') return invalid(layer, `cannot decompress the ${compression} bytes: ${printable(err.message)}`);
  return new TarpushError('ARCHIVE_UNREADABLE', `${where(layer)}: cannot read the bytes to check the diff_id: ${printable(err.message)}`, {
    entry: layer.source.location,
  });
}

/**
 * A pass-through that checks a full read of a layer's stored bytes. A wrong magic or
 * (uncompressed) tar errors the stream as soon as it is seen, a wrong size or digest at the
 * end, so an upload reading it aborts before it commits. The worker's findings (diff_id,
 * decompression, tar of a compressed layer) are reported after the stored digest has been
 * checked — a corrupted byte is a DIGEST_MISMATCH, not a decompression failure — and
 * after the stream ended. Every outcome goes to `onResult`, once.
 */
export class LayerChecker extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly job: DiffIdJob | undefined;
  /** The first bytes, until the magic has been compared with the media type. */
  private head: Buffer | undefined = Buffer.alloc(0);
  /** Set for uncompressed layers with a declared diff_id: the bytes themselves must be a tar. */
  private readonly tar: TarStreamCheck | undefined;
  private readonly claimed: Compression;
  private readonly checksDiffId: boolean;
  private finished = false;
  private reported = false;

  constructor(
    private readonly layer: Layer,
    private readonly onResult: (err: Error | undefined, ok?: LayerVerified) => void,
    opts: VerifyOptions,
    pool: () => DiffIdPool,
  ) {
    super();
    const declared = diffIdDeclared(layer);
    this.claimed = claimedCompression(layer);
    if (!declared) this.head = undefined; // artifacts: no claim about compression or tar to check
    const c = this.claimed;
    if (declared && c === 'none') this.tar = new TarStreamCheck();
    const decode = declared && c !== 'none' && opts.diffIds !== false && canDecompress(c);
    this.checksDiffId = declared && (c === 'none' || decode);
    if (decode) {
      const file = layer.source.file;
      // A file-backed layer is read by the worker itself, so decompression never holds back
      // the upload and no copies cross threads; other sources are fed chunk by chunk.
      this.job = pool().start(c as WorkerCompression, file && { path: file.path, start: file.offset, end: file.offset + layer.size });
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const bad = this.checkHead(chunk) ?? this.checkTar(chunk);
    if (bad) {
      cb(this.report(bad));
      return;
    }
    const wait = this.job?.push(chunk);
    this.push(chunk);
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    this.finished = true;
    let stored: LayerVerified;
    try {
      stored = this.checkStored();
    } catch (err) {
      cb(this.report(err as Error));
      return;
    }
    // The stored bytes are proven: end the stream now so the upload completes at wire
    // speed. The diff_id (decompressing on a worker) is reported through onResult when it
    // is done; the publisher writes no manifest until then, so a mismatch still publishes
    // nothing (at most an unreferenced blob whose content matches its digest).
    cb();
    this.checkDiffId().then(
      () => this.onResult(undefined, { ...stored, diffIdChecked: this.checksDiffId }),
      (err: Error) => this.onResult(err),
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.finished) this.job?.cancel();
    cb(err);
  }

  /** Report a failure (once) and stop the worker; returns the error for the stream. */
  private report(err: Error): Error {
    this.job?.cancel();
    if (!this.reported) {
      this.reported = true;
      this.onResult(err);
    }
    return err;
  }

  /** Compare the magic with the claimed compression once enough bytes (or all of them) are in. */
  private checkHead(chunk: Buffer | undefined): Error | undefined {
    if (!this.head) return undefined;
    if (chunk) this.head = Buffer.concat([this.head, chunk.subarray(0, 4)]).subarray(0, 4);
    if (chunk && this.head.length < 4) return undefined;
    const actual = detectCompression(this.head);
    this.head = undefined;
    if (actual === this.claimed) return undefined;
    const claim = compressionOfMediaType(this.layer.mediaType) ? `its media type ${printable(this.layer.mediaType)} says ${compressionText(this.claimed)}` : `it was read as ${compressionText(this.claimed)}`;
    return invalid(this.layer, `bytes are ${compressionText(actual)} but ${claim}`);
  }

  private checkTar(chunk: Buffer): Error | undefined {
    const bad = this.tar?.feed(chunk);
    return bad ? invalid(this.layer, bad) : undefined;
  }

  /** Size, stored digest, magic of a short layer, end of an uncompressed tar: known the moment the last byte has passed. */
  private checkStored(): LayerVerified {
    const layer = this.layer;
    const digest: Digest = `sha256:${this.hash.digest('hex')}`;
    if (this.bytes !== layer.size) {
      throw new TarpushError('SIZE_MISMATCH', `${printable(layer.source.location)}: expected ${layer.size} bytes, read ${this.bytes}`, {
        entry: layer.source.location,
        expected: String(layer.size),
        actual: String(this.bytes),
      });
    }
    if (digest !== layer.digest) throw mismatch('DIGEST_MISMATCH', layer, layer.digest, digest, 'stored digest');
    const bad = this.checkHead(undefined);
    if (bad) throw bad;
    const tarEnd = this.tar?.end();
    if (tarEnd) throw invalid(layer, tarEnd);
    return { digest, size: this.bytes, compression: this.claimed, diffIdChecked: false };
  }

  /** The diff_id: the stored digest itself for uncompressed layers, the worker's answer for compressed ones. */
  private async checkDiffId(): Promise<void> {
    const layer = this.layer;
    if (!diffIdDeclared(layer)) return;
    if (this.claimed === 'none' && layer.digest !== layer.diffId) {
      throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, layer.digest, 'diff_id (config rootfs.diff_ids)');
    }
    if (!this.job) return;
    let diff: Digest;
    try {
      diff = (await this.job.finish()).digest;
    } catch (err) {
      throw workerError(layer, this.claimed, err as Error);
    }
    if (diff !== layer.diffId) throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, diff, 'diff_id (config rootfs.diff_ids)');
  }
}
