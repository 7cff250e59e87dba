import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import { TarpushError } from '../errors.js';
import { DEFAULT_ZSTD_LEVEL, assertCompressionLevel } from './defaults.js';

/**
 * zstd through node:zlib, which has it from Node 22.15 on. @types/node 20 does not know
 * the API, so it is looked up at run time and typed here by hand.
 */
interface ZstdZlib {
  createZstdCompress(opts?: { params?: Record<number, number> }): Transform;
  constants: { ZSTD_c_compressionLevel: number };
}

function zstdApi(): ZstdZlib | undefined {
  const z = zlib as unknown as Partial<ZstdZlib>;
  if (typeof z.createZstdCompress !== 'function') return undefined;
  if (typeof z.constants?.ZSTD_c_compressionLevel !== 'number') return undefined;
  return z as ZstdZlib;
}

/** Whether this Node can compress zstd. */
export function zstdAvailable(): boolean {
  return zstdApi() !== undefined;
}

/** Throw USAGE when this Node cannot produce the requested compression. */
export function assertCompressionSupported(compression: 'gzip' | 'zstd' | 'none'): void {
  if (compression === 'zstd' && !zstdAvailable()) {
    throw new TarpushError(
      'USAGE',
      `zstd compression needs Node ≥ 22.15 (node:zlib zstd support); this is Node ${process.versions.node}. Use gzip, or run tarpush on a newer Node`,
    );
  }
}

/**
 * zstd-compress `input` (single-threaded, so the output depends only on the input and
 * level). The returned stream owns `input`: input errors come out of it, and destroying
 * it destroys the input.
 */
export function zstdStream(input: Readable, level = DEFAULT_ZSTD_LEVEL): Readable {
  assertCompressionSupported('zstd');
  assertCompressionLevel('zstd', level);
  const api = zstdApi()!;
  const out = api.createZstdCompress({ params: { [api.constants.ZSTD_c_compressionLevel]: level } });
  input.on('error', (err) => out.destroy(err));
  out.on('close', () => {
    if (!input.destroyed && !input.readableEnded) input.destroy();
  });
  input.pipe(out);
  return out;
}
