import type { Readable } from 'node:stream';
import { compressionLevelDefault } from './defaults.js';
import { gzipParallel, type GzipParallelOptions } from './parallel-gzip.js';
import { assertCompressionSupported, zstdStream } from './zstd.js';

export { ARCHIVE_MAGIC_BYTES, detectArchiveCompression, detectCompression, type ArchiveCompression } from './detect.js';
export { DecompressError, createArchiveDecompressor } from './archive-decompress.js';
export { canDecompress, createDecompressor } from './decompress.js';
export {
  DEFAULT_GZIP_BLOCK_SIZE,
  DEFAULT_GZIP_LEVEL,
  DEFAULT_ZSTD_LEVEL,
  assertCompressionLevel,
  compressionLevelDefault,
  defaultGzipConcurrency,
} from './defaults.js';
export { gzipParallel, type GzipParallelOptions } from './parallel-gzip.js';
export { assertCompressionSupported, zstdAvailable, zstdStream } from './zstd.js';

export interface CompressOptions {
  /** Level (default: compressionLevelDefault(compression)). */
  level?: number;
  /** gzip only: bytes per block and blocks in flight (see gzipParallel). */
  blockSize?: GzipParallelOptions['blockSize'];
  concurrency?: GzipParallelOptions['concurrency'];
}

/**
 * Compress a layer stream the way tarpush uploads it: deterministic output for the same
 * input and options, so a retried upload gets the same digest. `none` returns the input.
 */
export function compressStream(input: Readable, compression: 'gzip' | 'zstd' | 'none', opts: CompressOptions = {}): Readable {
  assertCompressionSupported(compression);
  const level = opts.level ?? compressionLevelDefault(compression);
  if (compression === 'gzip') return gzipParallel(input, { level, blockSize: opts.blockSize, concurrency: opts.concurrency });
  if (compression === 'zstd') return zstdStream(input, level);
  return input;
}
