import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { TarpushError } from '../errors.js';
import { fileRangeSource } from '../image/sources.js';
import type { ByteSource } from '../image/types.js';
import { printable } from '../util/printable.js';
import { normaliseEntryName } from './entry-name.js';
import type { TarIndex } from './tar-index.js';

/**
 * The files of an archive, whether they sit in a tar (a byte range of the tar file) or in
 * an OCI layout directory (a whole file). Format readers only see this, so one OCI reader
 * serves tars and directories alike.
 */

/** A regular file of the archive: `size` bytes at `offset` of `file` on disk. */
export interface FileRegion {
  /** Entry name inside the archive. */
  readonly name: string;
  readonly file: string;
  readonly offset: number;
  readonly size: number;
  /** For messages and ByteSource.location: `image.tar!blobs/sha256/ab…` or a directory path. */
  readonly location: string;
  /** Positioned reads through a handle the archive keeps open (tar archives); otherwise each read opens the file. */
  readonly handle?: SharedHandle;
}

export interface ArchiveFiles {
  /** How the archive is named in messages. */
  readonly label: string;
  /** The regular file at `name` (links followed), or undefined when absent or not a file. */
  find(name: string): Promise<FileRegion | undefined>;
  /** Like find, but an absent entry is ARCHIVE_ENTRY_MISSING saying what it was wanted for. */
  require(name: string, what: string): Promise<FileRegion>;
  /** Whether anything (file, directory, link) exists at `name`. */
  exists(name: string): Promise<boolean>;
  /** Some entry names, for messages about archives we do not recognise. */
  sampleNames(max: number): Promise<string[]>;
  /** Release what reading holds open (idempotent). Regions stay readable: they reopen the file. */
  close(): Promise<void>;
  /**
   * Tell the user, once, of something the reader accepted that the archive did not say quite
   * right (a descriptor's media type the manifest contradicts, a config not named by its
   * digest). Set by openArchive from its onNote option; readers call it as `files.note?.(…)`.
   */
  readonly note?: (message: string) => void;
}

/** `files` whose note() passes each distinct message to `onNote` once. */
export function withNotes(files: ArchiveFiles, onNote: ((message: string) => void) | undefined): ArchiveFiles {
  if (!onNote) return files;
  const said = new Set<string>();
  return {
    ...files,
    note: (message: string) => {
      if (said.has(message)) return;
      said.add(message);
      onNote(message);
    },
  };
}

/**
 * One read-only handle on a tar file, opened on first use: an archive's small documents
 * (thousands of manifests, configs and layer heads in a big OCI archive) are read with one
 * positioned read each instead of open + read + close.
 */
export class SharedHandle {
  private fh: Promise<FileHandle> | undefined;
  constructor(readonly file: string) {}

  get(): Promise<FileHandle> {
    const p = (this.fh ??= open(this.file, 'r'));
    p.catch(() => {
      if (this.fh === p) this.fh = undefined; // let a later read try again and report its own error
    });
    return p;
  }

  async close(): Promise<void> {
    const p = this.fh;
    this.fh = undefined;
    await (await p?.catch(() => undefined))?.close();
  }
}

function missing(label: string, name: string, what: string, detail = 'is missing'): TarpushError {
  return new TarpushError('ARCHIVE_ENTRY_MISSING', `${label}: ${what} "${printable(name)}" ${detail}`, { file: label, entry: name });
}

/** `require` for any place: `find`, else an ARCHIVE_ENTRY_MISSING saying why not. */
function requireVia(
  label: string,
  find: (name: string) => Promise<FileRegion | undefined>,
  whyNot: (name: string) => Promise<string>,
): ArchiveFiles['require'] {
  return async (name, what) => (await find(name)) ?? Promise.reject(missing(label, name, what, await whyNot(name)));
}

export function tarFiles(index: TarIndex): ArchiveFiles {
  const label = index.label;
  const handle = new SharedHandle(index.file);
  const find = async (name: string): Promise<FileRegion | undefined> => {
    const e = index.resolve(name);
    if (!e || e.type !== 'file') return undefined;
    return { name, file: index.file, offset: e.offset, size: e.size, location: `${label}!${printable(normaliseEntryName(name) ?? name)}`, handle };
  };
  return {
    label,
    close: () => handle.close(),
    find,
    require: requireVia(label, find, async (name) => {
      const e = index.resolve(name);
      return e ? `is a ${e.type}, not a regular file` : 'is missing';
    }),
    async exists(name) {
      return index.resolve(name) !== undefined;
    },
    async sampleNames(max) {
      return [...index.entries.keys()].slice(0, max);
    },
  };
}

/**
 * An OCI layout directory. Symlinks inside it are followed only while they stay inside the
 * directory: as for links in a tar, a blob that resolves elsewhere is ARCHIVE_ENTRY_UNSAFE.
 */
export function dirFiles(root: string): ArchiveFiles {
  const label = printable(root);
  let realRoot: Promise<string> | undefined;
  const pathOf = (name: string): string => {
    const n = normaliseEntryName(name);
    if (n === undefined) {
      throw new TarpushError('ARCHIVE_ENTRY_UNSAFE', `${label}: "${printable(name)}" points outside the directory`, { file: label, entry: name });
    }
    return join(root, n);
  };
  /** The entry's real path and stat, or undefined when nothing is there. */
  const statOf = async (name: string) => {
    const p = pathOf(name);
    try {
      const rootPath = await (realRoot ??= realpath(root));
      const real = await realpath(p);
      if (real !== rootPath && !real.startsWith(rootPath.endsWith(sep) ? rootPath : rootPath + sep)) {
        throw new TarpushError('ARCHIVE_ENTRY_UNSAFE', `${label}: "${printable(name)}" resolves to ${printable(real)}, outside the layout directory`, {
          file: label,
          entry: name,
        });
      }
      return { real, st: await stat(real) };
    } catch (err) {
      if (err instanceof TarpushError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new TarpushError('ARCHIVE_UNREADABLE', `cannot read ${printable(p)}: ${printable((err as Error).message)}`, { file: label, entry: name }, { cause: err });
    }
  };
  const find = async (name: string): Promise<FileRegion | undefined> => {
    const found = await statOf(name);
    if (!found?.st.isFile()) return undefined;
    return { name, file: found.real, offset: 0, size: found.st.size, location: printable(pathOf(name)) };
  };
  return {
    label,
    find,
    require: requireVia(label, find, async (name) => ((await statOf(name)) ? 'is not a regular file' : 'is missing')),
    async exists(name) {
      return (await statOf(name)) !== undefined;
    },
    async sampleNames(max) {
      return (await readdir(root)).slice(0, max);
    },
    async close() {},
  };
}

/** A re-openable source of a file's bytes. */
export const regionSource = (r: FileRegion): ByteSource => fileRangeSource(r.file, r.offset, r.size, r.location);

/** Read a small file whole; larger than `limit` is ARCHIVE_TOO_LARGE (JSON documents are bounded). */
export async function readRegion(r: FileRegion, limit: number, what: string): Promise<Buffer> {
  if (r.size > limit) {
    throw new TarpushError('ARCHIVE_TOO_LARGE', `${r.location}: ${what} is ${r.size} bytes, over the ${limit}-byte limit`, {
      entry: r.location,
    });
  }
  return readAt(r, r.size);
}

/** The first `n` bytes of a file or entry (fewer when it is shorter): enough for magic numbers. The one head-of-file read. */
export const readHead = (r: FileRegion, n: number): Promise<Buffer> => readAt(r, Math.min(n, r.size));

async function readAt(r: FileRegion, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  if (n === 0) return buf;
  let fh: FileHandle | undefined;
  try {
    fh = r.handle ? await r.handle.get() : await open(r.file, 'r');
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, r.offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw new TarpushError('ARCHIVE_TRUNCATED', `${r.location}: ended after ${got} of ${n} bytes`, { entry: r.location });
    return buf;
  } catch (err) {
    if (err instanceof TarpushError) throw err;
    throw new TarpushError('ARCHIVE_UNREADABLE', `cannot read ${r.location}: ${printable((err as Error).message)}`, { entry: r.location }, { cause: err });
  } finally {
    if (!r.handle) await fh?.close();
  }
}
