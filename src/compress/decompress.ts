import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { Compression } from '../image/media-types.js';

/**
 * Decompressors of layer bytes. zstd decoding is in node:zlib from Node 22.15 on;
 * @types/node 20 does not know it, so it is looked up at run time.
 */

type ZstdDecompressFactory = (opts?: { chunkSize?: number }) => Transform;

const zstdDecompressFactory = (): ZstdDecompressFactory | undefined => {
  const f = (zlib as unknown as { createZstdDecompress?: ZstdDecompressFactory }).createZstdDecompress;
  return typeof f === 'function' ? f : undefined;
};

/** Whether this Node can decompress `c` (`none` needs no decompressor). */
export function canDecompress(c: Compression): boolean {
  return c !== 'zstd' || zstdDecompressFactory() !== undefined;
}

/**
 * A stream turning `c`-compressed bytes into the plain bytes; undefined for `none`, and for
 * zstd on a Node without a zstd decoder (see canDecompress).
 */
export function createDecompressor(c: Compression, opts: { chunkSize?: number } = {}): Transform | undefined {
  if (c === 'gzip') return zlib.createGunzip(opts);
  if (c === 'zstd') return zstdDecompressFactory()?.(opts);
  return undefined;
}
