import { TarpushError } from '../errors.js';

/**
 * Compression defaults in one place. The numbers come from bench/compress.ts on the
 * 2-core build machine; docs/decisions.md ("Compression") records the measurements.
 */

/** Default gzip level: see docs/decisions.md "Compression" for the speed/size trade. */
export const DEFAULT_GZIP_LEVEL = 6;

/** Default input bytes per independently compressed gzip block (pigz uses 128 KiB too). */
export const DEFAULT_GZIP_BLOCK_SIZE = 128 * 1024;

/** Default zstd level (zstd's own default). */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Smallest and largest gzip block sizes we accept. */
export const MIN_GZIP_BLOCK_SIZE = 1024;
export const MAX_GZIP_BLOCK_SIZE = 64 * 1024 * 1024;

/** Default level for a compression; `none` has no level (0). */
export function compressionLevelDefault(compression: 'gzip' | 'zstd' | 'none'): number {
  if (compression === 'gzip') return DEFAULT_GZIP_LEVEL;
  if (compression === 'zstd') return DEFAULT_ZSTD_LEVEL;
  return 0;
}

/** Throw USAGE when a level is outside what the compression accepts. */
export function assertCompressionLevel(compression: 'gzip' | 'zstd' | 'none', level: number): void {
  const [min, max] = compression === 'gzip' ? [1, 9] : compression === 'zstd' ? [1, 22] : [0, 0];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new TarpushError('USAGE', `${compression} compression level must be an integer from ${min} to ${max}, got ${level}`);
  }
}
