import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { ByteSource } from './types.js';

/**
 * A place that receives images: a registry repository or an OCI layout directory.
 * Both implement the same small interface so the publisher does not care which it has.
 */
export type BlobAction = 'exists' | 'mounted' | 'uploaded';

export interface ProgressFn {
  /** Called with the number of bytes sent so far for this blob (monotonic per attempt; may restart at a retry). */
  (sent: number): void;
}

export interface BlobSink {
  /** Human name of the place: `registry.example/repo` or `oci:/path`. */
  readonly name: string;
  /**
   * Whether the blob is already present. `size`, when known, lets a place that cannot trust
   * a name alone (a layout directory anyone could have written into) check more than the name.
   */
  hasBlob(digest: Digest, size?: number): Promise<boolean>;
  /**
   * Try to make the blob present without sending it (cross-repository mount). Resolves
   * true when it is now present, false when the caller must upload it.
   */
  mountBlob?(digest: Digest, fromRepository: string): Promise<boolean>;
  /** Upload a blob whose digest and size are known, from a re-openable source. */
  putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void>;
  /**
   * Upload bytes whose digest is not known in advance (a layer compressed on the fly).
   * `open()` produces the bytes; it may be called again to retry, and must then produce
   * the same bytes (our compressors are deterministic). Resolves with what was stored.
   */
  putStream(open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }>;
}

export interface ManifestSink {
  /** Store a manifest under a tag or by digest; resolves with the digest the place reports. */
  putManifest(reference: string, raw: Buffer, mediaType: string): Promise<Digest>;
  /**
   * The digest a tag or digest currently resolves to, `undefined` when absent. Places whose
   * writes can end ambiguously (a registry answer cut off) offer it, so the publisher can
   * tell whether a failed write took effect.
   */
  headManifest?(reference: string): Promise<{ digest: Digest } | undefined>;
}

/**
 * Places that are written as one file (tar archives) are committed at the end: nothing
 * appears under the final name until `close()`, and `abort()` throws the partial work away.
 * Places that store each write as it happens (registries, layout directories) leave both out.
 */
export interface SinkLifecycle {
  /** Finish the place (write what must come last, move it under its final name). */
  close?(): Promise<void>;
  /** Give up: remove everything written so far. Safe to call more than once, or after close(). */
  abort?(): Promise<void>;
}

export type ImageSink = BlobSink & ManifestSink & SinkLifecycle;
