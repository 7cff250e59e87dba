import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pack as tarPack, type Pack } from 'tar-stream';
import { TarpushError, isTarpushError } from '../errors.js';
import { snippet } from '../util/printable.js';
import type { BlobMeasure } from '../image/blob-measure.js';

/**
 * One tar archive being written: entries are streamed with tar-stream into a temp file
 * beside the final one (`FILE.tmp-<pid>-<random>`, same directory so the rename is atomic),
 * one at a time in the order they were asked for, and only `commit()` renames it to FILE.
 * Any failure poisons the archive (an entry cut short or with wrong bytes cannot be taken
 * back out of a stream): later entries and commit() fail with the first error, and
 * `abort()` removes the temp file. Headers are fixed (mode 0644, uid/gid 0, mtime 0), so
 * the same content makes the same archive.
 */

const HEADER = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) } as const;

/** A write error on the archive file, naming it. */
export function archiveWriteError(label: string, what: string, cause: unknown): TarpushError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new TarpushError('LAYOUT_INVALID', `${label}: ${what}: ${snippet(msg)}`, { file: label }, { cause });
}

/** A path beside `file` for a temp file of this run (`FILE.tmp-<pid>-<random>[suffix]`). */
export function tempBeside(file: string, suffix = ''): string {
  return `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}${suffix}`;
}

function waitDrain(w: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolveDrain, reject) => {
    const done = (err?: unknown): void => {
      w.off('drain', ok);
      w.off('error', bad);
      w.off('close', closed);
      if (err) reject(err);
      else resolveDrain();
    };
    const ok = (): void => done();
    const bad = (e: unknown): void => done(e ?? new Error('tar entry failed'));
    const closed = (): void => done(new Error('tar entry closed'));
    w.once('drain', ok);
    w.once('error', bad);
    w.once('close', closed);
  });
}

export class TarFile {
  /** Absolute final path. */
  readonly path: string;
  readonly tempPath: string;
  private readonly pack: Pack;
  private readonly out: WriteStream;
  /** Resolves when the file stream has flushed and closed (after finalize), rejects on a write error. */
  private readonly flushed: Promise<void>;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    file: string,
    readonly label: string,
    out: WriteStream,
    tempPath: string,
  ) {
    this.path = resolve(file);
    this.tempPath = tempPath;
    this.out = out;
    this.pack = tarPack();
    this.flushed = new Promise<void>((ok, fail) => {
      out.once('close', () => (this.failure === undefined ? ok() : fail(this.failure)));
      out.on('error', (e) => {
        this.poison(archiveWriteError(label, `cannot write ${tempPath}`, e));
        fail(this.failure);
      });
    });
    this.flushed.catch(() => {}); // observed by commit()/abort()
    this.pack.on('error', (e: unknown) => this.poison(e));
    this.pack.pipe(out);
  }

  /** Create the temp file (exclusively) for an archive to be written to `file`. */
  static async create(file: string, label: string): Promise<TarFile> {
    const tempPath = tempBeside(resolve(file));
    const out = createWriteStream(tempPath, { flags: 'wx', highWaterMark: 1 << 20 });
    await new Promise<void>((ok, fail) => {
      out.once('open', () => ok());
      out.once('error', (e) => fail(archiveWriteError(label, `cannot create ${tempPath}`, e)));
    });
    return new TarFile(file, label, out, tempPath);
  }

  /** Whether the archive can still be written. */
  get usable(): boolean {
    return this.state === 'open' && this.failure === undefined;
  }

  private poison(err: unknown): void {
    this.failure ??= err;
    if (!this.pack.destroyed) this.pack.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== 'open') throw new TarpushError('USAGE', `${this.label} is already ${this.state === 'committed' ? 'closed' : 'aborted'}`, { file: this.label });
  }

  /** Run `task` after every entry asked for before it. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.check();
      return task();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** A directory entry (`blobs/`). */
  addDirectory(name: string): Promise<void> {
    return this.serial(() => this.entry({ name, type: 'directory', mode: 0o755 }, Buffer.alloc(0)));
  }

  /** A file entry from bytes in memory. */
  addBytes(name: string, data: Buffer): Promise<void> {
    return this.serial(() => this.entry({ name, type: 'file', size: data.length }, data));
  }

  /**
   * A file entry of `size` bytes streamed from `open()` (called when the entry's turn comes),
   * each chunk passed through `measure` first; its `finish()` runs before the entry ends.
   */
  addStream(name: string, size: number, open: () => Readable, measure: BlobMeasure): Promise<void> {
    return this.serial(async () => {
      const done = new Promise<void>((ok, fail) => {
        const entry = this.pack.entry({ ...HEADER, name, type: 'file', size }, (err) => (err ? fail(err) : ok()));
        entry.on('error', () => {}); // reported through the entry's callback
        void (async () => {
          const input = open();
          try {
            for await (const chunk of input) {
              measure.update(chunk as Buffer);
              if (!entry.write(chunk as Buffer)) await waitDrain(entry);
            }
            measure.finish();
            (entry as NodeJS.WritableStream).end();
          } catch (e) {
            input.destroy();
            this.poison(e);
            entry.destroy(e instanceof Error ? e : new Error(String(e)));
            fail(e);
          }
        })();
      });
      try {
        await done;
      } catch (e) {
        this.poison(e);
        throw this.failure;
      }
    });
  }

  private async entry(header: { name: string; type: 'file' | 'directory'; size?: number; mode?: number }, data: Buffer): Promise<void> {
    try {
      await new Promise<void>((ok, fail) => {
        const cb = (err?: Error | null): void => (err ? fail(err) : ok());
        if (header.type === 'file') this.pack.entry({ ...HEADER, ...header }, data, cb);
        else this.pack.entry({ ...HEADER, ...header }, cb);
      });
    } catch (e) {
      this.poison(e);
      throw this.failure;
    }
  }

  /**
   * Write the end of the archive, flush it to disk and rename it to its final path. On any
   * failure (an earlier one included) the temp file is removed and the error thrown.
   */
  async commit(): Promise<void> {
    try {
      await this.queue;
      this.check();
      this.state = 'committed';
      this.pack.finalize();
      await this.flushed;
      // The data reaches the disk before the name does: after a crash FILE is whole or absent.
      const fh = await open(this.tempPath, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(this.tempPath, this.path).catch((e: unknown) => {
        throw archiveWriteError(this.label, `cannot rename ${this.tempPath} to ${this.path}`, e);
      });
    } catch (e) {
      this.state = 'committed';
      await this.removeTemp();
      throw isTarpushError(e) ? e : archiveWriteError(this.label, 'cannot finish the archive', e);
    }
  }

  /** Stop writing and remove the temp file. Idempotent; after commit() it does nothing. */
  async abort(): Promise<void> {
    if (this.state === 'committed') return;
    this.state = 'aborted';
    this.failure ??= new TarpushError('USAGE', `${this.label} was aborted`, { file: this.label });
    this.poison(this.failure);
    await this.removeTemp();
  }

  private async removeTemp(): Promise<void> {
    if (!this.out.closed) {
      await new Promise<void>((ok) => {
        this.out.once('close', () => ok());
        this.out.destroy();
      });
    }
    await rm(this.tempPath, { force: true }).catch(() => {});
  }
}
