import { availableParallelism } from 'node:os';
import { TarpushError } from '../errors.js';

/**
 * Compression defaults in one place. The numbers come from bench/compress.ts on the
 * 2-core build machine; docs/decisions.md ("Compression") records the measurements.
 */

/**
 * Default gzip level for layers compressed on the way: 1, as go-containerregistry (crane)
 * uses for the layers it compresses. On the 2-core machine a 1 GB docker save pushes in
 * 8.4 s at level 1, 10.0 s at 4 and 15.1 s at 6, for layers 7 % and 2 % larger than level
 * 6's (docs/decisions.md "Compression"); --compression-level trades the other way.
 * Over a link slower than ~115 Mbit/s per core level 6 is faster, by at most its 6 % fewer
 * bytes; on a faster one it costs up to 1.76× (docs/decisions.md "Gzip level against the link").
 */
export const DEFAULT_GZIP_LEVEL = 1;

/**
 * Default input bytes per independently compressed gzip block. Part of the output format:
 * a different block size gives different bytes (and digests), so it never changes silently.
 */
export const DEFAULT_GZIP_BLOCK_SIZE = 1024 * 1024;

/**
 * Blocks in flight: more than the cores, so the threadpool never waits for the event loop
 * to hand it the next block (2 in flight ran at 62 MB/s, 4 at 87 MB/s on 2 cores, level 6).
 */
export const defaultGzipConcurrency = (): number => Math.max(4, 2 * availableParallelism());

/**
 * Input bytes of gzip blocks in flight across every parallel gzip stream of the process
 * (block-budget.ts): 8 blocks of the default size, twice the threadpool's 4 threads, so the
 * threads never wait for work while memory stays flat however many layers are compressed at
 * once (docs/decisions.md "Memory").
 */
export const GZIP_BLOCK_BUDGET = 8 * DEFAULT_GZIP_BLOCK_SIZE;

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
