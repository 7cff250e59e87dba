import { createHash } from 'node:crypto';
import { TarpushError } from '../errors.js';
import type { Digest } from './digest.js';
import type { ProgressFn } from './sink.js';

export interface ExpectedBlob {
  digest: Digest;
  size: number;
  /** Where the bytes come from, for messages (printable). */
  location?: string;
}

/**
 * Hashes and counts the bytes of one blob on their way into a file sink: the one home of
 * the "these bytes are the blob they claim to be" check for tar archives (tarball/) and OCI
 * layouts (ocidir/blob.ts). With `expected`, a byte beyond the expected size fails before
 * it is written (a tar entry's size is fixed by its header), and `finish()` fails on a
 * short blob or another digest, before the writer would end the entry or rename the blob
 * into place as if it were good.
 */
export class BlobMeasure {
  private readonly hash = createHash('sha256');
  size = 0;

  constructor(
    private readonly expected: ExpectedBlob | undefined,
    private readonly onProgress?: ProgressFn,
  ) {}

  /** Count a chunk; SIZE_MISMATCH when it takes the blob past its expected size. */
  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.expected && this.size > this.expected.size) throw this.sizeError();
    this.hash.update(chunk);
    this.onProgress?.(this.size);
  }

  /** The digest of what was counted; SIZE_MISMATCH / DIGEST_MISMATCH against `expected`. */
  finish(): { digest: Digest; size: number } {
    const digest: Digest = `sha256:${this.hash.digest('hex')}`;
    const e = this.expected;
    if (e && this.size !== e.size) throw this.sizeError();
    if (e && digest !== e.digest) {
      throw new TarpushError('DIGEST_MISMATCH', `blob${this.from()} has digest ${digest}, expected ${e.digest}`, {
        file: e.location,
        expected: e.digest,
        actual: digest,
      });
    }
    return { digest, size: this.size };
  }

  private from(): string {
    return this.expected?.location ? ` from ${this.expected.location}` : '';
  }

  private sizeError(): TarpushError {
    const e = this.expected!;
    const has = this.size > e.size ? `more than ${e.size}` : String(this.size);
    return new TarpushError('SIZE_MISMATCH', `blob ${e.digest}${this.from()} has ${has} bytes, expected ${e.size}`, {
      file: e.location,
      expected: String(e.size),
      actual: String(this.size),
    });
  }
}
