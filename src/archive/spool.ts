import { rmSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { TarpushError } from '../errors.js';
import { detectCompression } from '../compress/detect.js';
import { registerCleanup } from '../util/cleanup.js';
import { ownedPrefix, removeStaleTemps } from '../util/stale-temp.js';
import { TarEndWatcher } from './tar-end.js';

/**
 * Non-seekable input (stdin, a gzipped archive) is copied once to a temp file — gunzipped
 * on the way when it starts with the gzip magic — and then indexed like any tar. Layers
 * are later read back from that file as byte ranges, so uploads can retry and resume.
 *
 * Bounds, so a hostile or broken input cannot fill the disk:
 * - copying stops at the tar end-of-archive marker (a stream of zeros after it is never read);
 * - gzip output above `ratioAfter` bytes that exceeds `maxRatio` × the compressed input is a
 *   bomb (ARCHIVE_TOO_LARGE); real image archives compress far less, since their layers are
 *   usually gzipped already;
 * - `maxBytes` caps the spooled size outright.
 * Memory stays at a few chunks: every write is awaited before the next read.
 *
 * The temp directory is named `tarpush-spool-<pid>-…` and registered with util/cleanup, so
 * Ctrl-C or SIGTERM removes it; what a killed run (kill -9) left is removed by the next run
 * (removeStaleSpools, called when an archive is opened).
 */

export const SPOOL_PREFIX = 'tarpush-spool-';

/** Remove spool directories of runs that are gone (see util/stale-temp.ts). */
export const removeStaleSpools = (tmpDir: string = tmpdir()): Promise<string[]> => removeStaleTemps(tmpDir, SPOOL_PREFIX);

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
  /** Delete the temp file (idempotent). */
  remove(): Promise<void>;
}

export const DEFAULT_MAX_RATIO = 200;
export const DEFAULT_RATIO_AFTER = 64 * 1024 * 1024;

/** Yield the chunks already read, then the rest of the stream. */
async function* prefixed(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  try {
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest.return?.();
  }
}

export async function spool(input: Readable, opts: SpoolOptions): Promise<Spooled> {
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), ownedPrefix(SPOOL_PREFIX)));
  const file = join(dir, 'archive.tar');
  const unregister = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    unregister();
  };
  let fh: FileHandle | undefined;
  let gunzip: Gunzip | undefined;
  let source: Readable | undefined;
  try {
    fh = await open(file, 'w');
    const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    // Read enough to see the magic bytes.
    const head: Buffer[] = [];
    let headLen = 0;
    while (headLen < 4) {
      const r = await it.next();
      if (r.done) break;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      head.push(b);
      headLen += b.length;
    }
    const gzipped = detectCompression(Buffer.concat(head)) === 'gzip';
    const src = Readable.from(prefixed(head, it), { objectMode: false });
    source = src;
    let data: AsyncIterable<Buffer> = src;
    if (gzipped) {
      gunzip = createGunzip({ chunkSize: 256 * 1024 });
      const g = gunzip;
      src.on('error', (err) => g.destroy(err));
      src.pipe(g);
      data = g;
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
        throw new TarpushError('ARCHIVE_TOO_LARGE', `${opts.label}: more than ${maxBytes} bytes${gzipped ? ' after decompression' : ''} (limit)`, {
          file: opts.label,
        });
      }
      if (gunzip) {
        compressed = gunzip.bytesWritten;
        if (total > ratioAfter && total > maxRatio * Math.max(compressed, 1)) {
          throw new TarpushError(
            'ARCHIVE_TOO_LARGE',
            `${opts.label}: decompresses to over ${maxRatio} times its compressed size (${total} bytes from ${compressed}); refusing a likely gzip bomb`,
            { file: opts.label },
          );
        }
      }
      await fh.write(keep);
      if (end !== undefined) break; // end of archive: stop reading the input
    }
    await fh.close();
    fh = undefined;
    return { file, gzipped, remove };
  } catch (err) {
    await fh?.close().catch(() => {});
    await remove();
    throw spoolError(err, opts.label);
  } finally {
    gunzip?.destroy();
    source?.destroy();
    input.destroy();
  }
}

function spoolError(err: unknown, label: string): Error {
  if (err instanceof TarpushError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e.message ?? '')) {
    return new TarpushError('ARCHIVE_TRUNCATED', `${label}: the gzip stream ends early (${e.message})`, { file: label }, { cause: err });
  }
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new TarpushError('ARCHIVE_NOT_TAR', `${label}: not valid gzip data (${e.message})`, { file: label }, { cause: err });
  }
  return new TarpushError('ARCHIVE_UNREADABLE', `cannot read ${label}: ${e.message}`, { file: label }, { cause: err });
}
