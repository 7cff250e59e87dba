import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { TarpushError } from '../errors.js';
import { DecompressError, createArchiveDecompressor } from '../compress/archive-decompress.js';
import { ARCHIVE_MAGIC_BYTES, detectArchiveCompression, type ArchiveCompression } from '../compress/detect.js';
import { printable } from '../util/printable.js';
import { ownedTempDir } from '../util/temp-dir.js';
import { TarEndWatcher } from './tar-end.js';

/**
 * Non-seekable input (stdin, a compressed archive) is copied once to a temp file —
 * decompressed on the way when it starts with the magic of gzip, zstd, xz or bzip2 — and
 * then indexed like any tar. Layers
 * are later read back from that file as byte ranges, so uploads can retry and resume.
 *
 * Bounds, so a hostile or broken input cannot fill the disk:
 * - copying stops at the tar end-of-archive marker (a stream of zeros after it is never read);
 * - decompressed output above `ratioAfter` bytes that exceeds `maxRatio` × the compressed
 *   input read so far is a bomb (ARCHIVE_TOO_LARGE); real image archives compress far less, since their layers are
 *   usually gzipped already;
 * - `maxBytes` caps the spooled size outright.
 * Memory stays at a few chunks: every write is awaited before the next read.
 *
 * The temp directory is one of util/temp-dir.ts (`tarpush-spool-<pid>-…`): Ctrl-C or
 * SIGTERM removes it; what a killed run (kill -9) left is removed by the next run
 * (removeStaleSpools, called when an archive is opened).
 */

export { removeStaleSpools, SPOOL_PREFIX } from '../util/temp-dir.js';

export interface SpoolOptions {
  /** Name of the input in messages (`stdin`, the user's path). */
  label: string;
  /** Directory for the temp file (default: os.tmpdir(), which honours TMPDIR). */
  tmpDir?: string;
  /** Absolute cap on spooled (decompressed) bytes. */
  maxBytes?: number;
  /** Largest decompressed:compressed ratio allowed once past `ratioAfter` bytes (default 200). */
  maxRatio?: number;
  /** Decompressed size from which the ratio applies (default 64 MiB). */
  ratioAfter?: number;
}

export interface Spooled {
  /** The tar file on disk. */
  readonly file: string;
  /** Whether the input was gzip-compressed. */
  readonly gzipped: boolean;
  /** How the input was compressed (`none`: a plain tar from a pipe). */
  readonly compression: ArchiveCompression;
  /** Delete the temp file (idempotent). */
  remove(): Promise<void>;
}

export const DEFAULT_MAX_RATIO = 200;
export const DEFAULT_RATIO_AFTER = 64 * 1024 * 1024;

/** Yield the chunks already read, then the rest of the stream, counting the bytes into `read`. */
async function* prefixed(head: Buffer[], rest: AsyncIterator<Buffer>, read: { bytes: number }): AsyncGenerator<Buffer> {
  for (const h of head) {
    read.bytes += h.length;
    yield h;
  }
  try {
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      read.bytes += r.value.length;
      yield r.value;
    }
  } finally {
    await rest.return?.();
  }
}

export async function spool(input: Readable, opts: SpoolOptions): Promise<Spooled> {
  const { dir, remove } = await ownedTempDir(opts.tmpDir);
  const file = join(dir, 'archive.tar');
  let fh: FileHandle | undefined;
  let decompressor: Duplex | undefined;
  let source: Readable | undefined;
  try {
    fh = await open(file, 'w');
    const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    // Read enough to see the magic bytes.
    const head: Buffer[] = [];
    let headLen = 0;
    while (headLen < ARCHIVE_MAGIC_BYTES) {
      const r = await it.next();
      if (r.done) break;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      head.push(b);
      headLen += b.length;
    }
    const compression = detectArchiveCompression(Buffer.concat(head));
    const read = { bytes: 0 };
    const src = Readable.from(prefixed(head, it, read), { objectMode: false });
    source = src;
    let data: AsyncIterable<Buffer> = src;
    if (compression !== 'none') {
      const d = await createArchiveDecompressor(compression, { chunkSize: 256 * 1024 });
      decompressor = d;
      src.on('error', (err) => d.destroy(err));
      src.pipe(d);
      data = d;
    }

    const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const maxRatio = opts.maxRatio ?? DEFAULT_MAX_RATIO;
    const ratioAfter = opts.ratioAfter ?? DEFAULT_RATIO_AFTER;
    const watcher = new TarEndWatcher();
    let total = 0;
    let compressed = 0;
    for await (const chunk of data) {
      const end = watcher.feed(chunk);
      const keep = end === undefined ? chunk : chunk.subarray(0, end);
      total += keep.length;
      if (total > maxBytes) {
        throw new TarpushError('ARCHIVE_TOO_LARGE', `${opts.label}: more than ${maxBytes} bytes${decompressor ? ' after decompression' : ''} (limit)`, {
          file: opts.label,
        });
      }
      if (decompressor) {
        compressed = read.bytes;
        if (total > ratioAfter && total > maxRatio * Math.max(compressed, 1)) {
          throw new TarpushError(
            'ARCHIVE_TOO_LARGE',
            `${opts.label}: decompresses to over ${maxRatio} times its compressed size (${total} bytes from ${compressed}); refusing a likely ${compression} bomb`,
            { file: opts.label },
          );
        }
      }
      await fh.write(keep);
      if (end !== undefined) break; // end of archive: stop reading the input
    }
    await fh.close();
    fh = undefined;
    return { file, gzipped: compression === 'gzip', compression, remove };
  } catch (err) {
    await fh?.close().catch(() => {});
    await remove();
    throw spoolError(err, opts.label);
  } finally {
    decompressor?.destroy();
    source?.destroy();
    input.destroy();
  }
}

function spoolError(err: unknown, label: string): Error {
  if (err instanceof TarpushError) return err;
  if (err instanceof DecompressError) {
    // The decoders' own words (fzstd: "unexpected EOF"; xz-embedded: error code 8 = XZ_BUF_ERROR, the input ended).
    if (/unexpected (eof|end)|error code 8\b/i.test(err.message)) {
      return new TarpushError('ARCHIVE_TRUNCATED', `${label}: the ${err.kind} stream ends early (${printable(err.message)})`, { file: label }, { cause: err });
    }
    return new TarpushError('ARCHIVE_NOT_TAR', `${label}: not valid ${err.kind} data, or cut short (${printable(err.message)})`, { file: label }, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e.message ?? '')) {
    return new TarpushError('ARCHIVE_TRUNCATED', `${label}: the gzip stream ends early (${e.message})`, { file: label }, { cause: err });
  }
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new TarpushError('ARCHIVE_NOT_TAR', `${label}: not valid gzip data (${e.message})`, { file: label }, { cause: err });
  }
  return new TarpushError('ARCHIVE_UNREADABLE', `cannot read ${label}: ${e.message}`, { file: label }, { cause: err });
}
