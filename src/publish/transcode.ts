import { createGunzip } from 'node:zlib';
import * as zlib from 'node:zlib';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { TarpushError } from '../errors.js';
import type { Compression } from '../image/media-types.js';
import { gzipParallel } from '../compress/parallel-gzip.js';

// Node ≥ 22.15 has zstd in node:zlib; Node 20 does not (and @types/node 20 does not know it).
const zstdApi = zlib as unknown as {
  createZstdCompress?: (o?: object) => Transform;
  createZstdDecompress?: () => Transform;
  constants: Record<string, number>;
};

function needZstd(): never {
  throw new TarpushError('USAGE', `zstd needs Node.js ≥ 22.15 (this is ${process.version}); use --compression gzip or keep`);
}

function decompressor(from: Compression): Transform | undefined {
  if (from === 'gzip') return createGunzip();
  if (from === 'zstd') return zstdApi.createZstdDecompress?.() ?? needZstd();
  return undefined;
}

function compressor(input: Readable, to: Compression, level: number): Readable {
  if (to === 'gzip') return gzipParallel(input, { level });
  if (to === 'zstd') {
    const z = zstdApi.createZstdCompress?.({ params: { [zstdApi.constants.ZSTD_c_compressionLevel ?? 100]: level } }) ?? needZstd();
    return pipeline(input, z, () => {});
  }
  return input;
}

/** Whether this Node.js can produce or read `c`. */
export function compressionSupported(c: Compression): boolean {
  return c !== 'zstd' || typeof zstdApi.createZstdCompress === 'function';
}

/** Re-encode a layer stream from one compression to another (errors travel downstream). */
export function transcode(input: Readable, from: Compression, to: Compression, level: number): Readable {
  if (from === to) return input;
  const d = decompressor(from);
  const plain = d ? pipeline(input, d, () => {}) : input;
  // pipeline() destroys every later stream with the error, so failures reach the uploader.
  return compressor(plain, to, level);
}
