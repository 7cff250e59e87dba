import { createHash } from 'node:crypto';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ProgressFn } from '../image/sink.js';

export interface ExpectedBlob {
  digest: Digest;
  size: number;
  /** Where the bytes come from, for messages. */
  location: string;
}

/**
 * Hashes and counts the bytes of one blob on their way into an archive. With `expected`,
 * a byte beyond the expected size fails before it is written (a tar entry's size is fixed
 * by its header), and `finish()` fails on a short blob or another digest, before the
 * writer would end the entry as if it were good.
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
      throw new TarpushError('DIGEST_MISMATCH', `blob from ${e.location} has digest ${digest}, expected ${e.digest}`, {
        file: e.location,
        expected: e.digest,
        actual: digest,
      });
    }
    return { digest, size: this.size };
  }

  private sizeError(): TarpushError {
    const e = this.expected!;
    const has = this.size > e.size ? `more than ${e.size}` : String(this.size);
    return new TarpushError('SIZE_MISMATCH', `blob ${e.digest} from ${e.location} has ${has} bytes, expected ${e.size}`, {
      file: e.location,
      expected: String(e.size),
      actual: String(this.size),
    });
  }
}
