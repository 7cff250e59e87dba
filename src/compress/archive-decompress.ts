import { Duplex, PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createDecompressor } from './decompress.js';
import type { ArchiveCompression } from './detect.js';

/**
 * Decompressors for whole archives (`docker save | xz`, podman's `.tar.xz` test saves,
 * `.tar.zst`, `.tar.bz2`), streamed into the spool. gzip, and zstd where node:zlib has it
 * (Node ≥ 22.15), are Node's own; otherwise a package (docs/decisions.md, "Archive
 * decompressors": fzstd for zstd, xz-decompress for xz, unbzip2-stream for bzip2), each
 * loaded only when an archive of its kind is met.
 */

/** A decompressor failed: the input is not valid data of `kind` (or ends early). */
export class DecompressError extends Error {
  constructor(
    readonly kind: ArchiveCompression,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Errors of the inner stream come out of `d` as DecompressError. */
function tagged(kind: ArchiveCompression, d: Duplex): Duplex {
  const out = new PassThrough({ readableHighWaterMark: 1 << 20 });
  const input = new PassThrough();
  input.pipe(d).pipe(out);
  const fail = (err: unknown) => out.destroy(err instanceof DecompressError ? err : new DecompressError(kind, err));
  d.on('error', fail);
  input.on('error', fail);
  const outer = Duplex.from({ writable: input, readable: out });
  // A reader that stops early destroys this wrapper: the decoder inside must go too (xz holds a process-wide lock until it does).
  outer.once('close', () => d.destroy());
  return outer;
}

/** fzstd's push decoder as a Transform (each block it hands out is a fresh array, not its window: no copy). */
async function fzstdTransform(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  let sink: ((b: Buffer) => void) | undefined;
  const dec = new Decompress((data) => sink?.(asBuffer(data)));
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      sink = (b) => this.push(b);
      try {
        dec.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      sink = (b) => this.push(b);
      try {
        dec.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** xz-decompress works on web streams: bytes written go into one, the decoded web stream is read back. */
async function xzDuplex(): Promise<Duplex> {
  const mod = (await import('xz-decompress')) as unknown as { default?: { XzReadableStream: XzCtor }; XzReadableStream?: XzCtor };
  const XzReadableStream = (mod.XzReadableStream ?? mod.default!.XzReadableStream) as XzCtor;
  const input = new PassThrough();
  const decoded = new XzReadableStream(Readable.toWeb(input) as unknown as WebReadableStream<Uint8Array>);
  const fromWeb = Readable.fromWeb(decoded as WebReadableStream<Uint8Array>);
  const duplex = Duplex.from({ writable: input, readable: fromWeb.map(asBuffer) });
  // xz-decompress decodes one stream at a time in the process (a global lock, released when
  // a stream ends or is cancelled). A reader that stops early (the spool stops at the tar's
  // end) must cancel it, or the next xz archive waits forever: destroying fromWeb cancels.
  duplex.once('close', () => fromWeb.destroy());
  return duplex;
}
type XzCtor = new (s: WebReadableStream<Uint8Array>) => WebReadableStream<Uint8Array>;

async function bzip2Duplex(): Promise<Duplex> {
  const { default: unbzip2 } = await import('unbzip2-stream');
  const input = new PassThrough();
  const output = new PassThrough();
  const bz = unbzip2();
  bz.on('error', (err: Error) => output.destroy(err));
  input.pipe(bz).pipe(output);
  return Duplex.from({ writable: input, readable: output });
}

/**
 * A stream from `kind`-compressed bytes to the archive's tar bytes. Failures of the data
 * (not `kind`, corrupt, cut short where the decoder can tell) come out as DecompressError.
 */
export async function createArchiveDecompressor(kind: Exclude<ArchiveCompression, 'none'>, opts: { chunkSize?: number } = {}): Promise<Duplex> {
  if (kind === 'gzip') return createDecompressor('gzip', opts)!;
  if (kind === 'zstd') return tagged(kind, createDecompressor('zstd', opts) ?? (await fzstdTransform()));
  if (kind === 'xz') return tagged(kind, await xzDuplex());
  return tagged(kind, await bzip2Duplex());
}
