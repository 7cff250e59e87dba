import * as zlib from 'node:zlib';
import { pipeline, type Readable, type Transform } from 'node:stream';
import type { Compression } from '../image/media-types.js';
import { assertCompressionSupported, compressStream, zstdAvailable } from '../compress/index.js';

// Node ≥ 22.15 decodes zstd in node:zlib; Node 20 does not (and @types/node 20 does not know it).
const zstdDecompress = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;

function decompressor(from: Compression): Transform | undefined {
  if (from === 'gzip') return zlib.createGunzip();
  if (from === 'zstd') {
    assertCompressionSupported('zstd');
    return zstdDecompress!();
  }
  return undefined;
}

/** Whether this Node.js can produce `c` (and read it, for zstd both go together). */
export const compressionSupported = (c: Compression): boolean => c !== 'zstd' || (zstdAvailable() && !!zstdDecompress);

/** Re-encode a layer stream from one compression to another; errors travel downstream. */
export function transcode(input: Readable, from: Compression, to: Compression, level: number): Readable {
  if (from === to) return input;
  const d = decompressor(from);
  // pipeline() destroys every later stream with the error, so failures reach the uploader.
  const plain = d ? pipeline(input, d, () => {}) : input;
  return compressStream(plain, to, { level });
}
