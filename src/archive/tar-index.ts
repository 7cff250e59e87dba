import { open, type FileHandle } from 'node:fs/promises';
import { TarpushError } from '../errors.js';
import { dirOf, normaliseEntryName, resolveWithinRoot } from './entry-name.js';
import { printable } from '../util/printable.js';
import {
  BLOCK,
  MAX_META_SIZE,
  entryDataSize,
  isZeroBlock,
  paddedSize,
  parseHeader,
  parsePax,
  sparseExtensionContinues,
  type PaxRecords,
} from './tar-header.js';

/**
 * Index of a seekable tar file built from its headers alone: every header is read with a
 * positioned read and the data areas are skipped, so a multi-gigabyte archive costs one
 * small read per entry (see docs/decisions.md, "Tar indexing").
 */

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Normalised name (no leading `./`, no `//`, no trailing `/`). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Offset of the entry's data in the tar file. */
  readonly offset: number;
  /** Size of the data (0 for directories and links). */
  readonly size: number;
  /** Link target as written, for symlinks and hard links. */
  readonly linkname?: string;
}

export interface TarIndex {
  /** The tar file on disk. */
  readonly file: string;
  /** How the archive is named in messages (the user's path, or `stdin`). */
  readonly label: string;
  /** Size of the tar file in bytes. */
  readonly fileSize: number;
  readonly entries: ReadonlyMap<string, TarEntry>;
  /**
   * The entry at `name` with symbolic and hard links followed (also in parent
   * directories). Undefined when nothing is there; throws ARCHIVE_ENTRY_UNSAFE for links
   * escaping the archive and ARCHIVE_LINK_LOOP for loops or chains longer than 16.
   */
  resolve(name: string): TarEntry | undefined;
}

/** Links followed before a chain is called a loop (as Linux's ELOOP limit for one path lookup, roughly). */
export const MAX_LINK_HOPS = 16;
/** Read window: consecutive small entries (JSON, VERSION files) are served from one read. */
const WINDOW = 64 * 1024;

/** Positioned reads through a small window, so runs of tiny entries do not cost a syscall each. */
class WindowReader {
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private len = 0;
  constructor(
    private readonly fh: FileHandle,
    private readonly fileSize: number,
  ) {}

  /** Up to `length` bytes at `offset` (fewer at EOF). Valid until the next call; copy to keep. */
  async read(offset: number, length: number): Promise<Buffer> {
    const want = Math.min(length, Math.max(0, this.fileSize - offset));
    if (offset >= this.start && offset + want <= this.start + this.len) {
      return this.buf.subarray(offset - this.start, offset - this.start + want);
    }
    if (want > WINDOW) {
      const big = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(big, 0, want, offset);
      return big.subarray(0, bytesRead);
    }
    const chunk = Math.min(WINDOW, this.fileSize - offset);
    const { bytesRead } = await this.fh.read(this.buf, 0, chunk, offset);
    this.start = offset;
    this.len = bytesRead;
    return this.buf.subarray(0, Math.min(want, bytesRead));
  }
}

const typeOf = (kind: string): TarEntryType =>
  kind === 'file' || kind === 'dir' || kind === 'symlink' || kind === 'hardlink' ? kind : 'other';


export async function indexTar(file: string, opts: { label?: string } = {}): Promise<TarIndex> {
  // Escaped once: the label names the archive in every message (printable() is idempotent).
  const label = printable(opts.label ?? file);
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new TarpushError('ARCHIVE_UNREADABLE', `cannot open ${label}: ${printable((err as Error).message)}`, { file: label }, { cause: err });
  }
  try {
    const fileSize = (await fh.stat()).size;
    const entries = await scan(new WindowReader(fh, fileSize), fileSize, label);
    const index: TarIndex = {
      file,
      label,
      fileSize,
      entries,
      resolve: (name) => resolveEntry(entries, name, label),
    };
    // Refuse escaping or looping links up front, even ones no manifest names: an image
    // archive has no business holding them. Dangling links only fail when used.
    for (const e of entries.values()) if (e.type === 'symlink' || e.type === 'hardlink') index.resolve(e.name);
    return index;
  } catch (err) {
    if (err instanceof TarpushError) throw err;
    throw new TarpushError('ARCHIVE_UNREADABLE', `cannot read ${label}: ${printable((err as Error).message)}`, { file: label }, { cause: err });
  } finally {
    await fh.close();
  }
}

async function scan(r: WindowReader, fileSize: number, label: string): Promise<Map<string, TarEntry>> {
  if (fileSize === 0) throw new TarpushError('ARCHIVE_EMPTY', `${label} is empty`, { file: label });
  const entries = new Map<string, TarEntry>();
  let pos = 0;
  let global: PaxRecords = {};
  let local: PaxRecords = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let previous: string | undefined; // last entry name, to say where a problem is

  const where = (offset: number) =>
    previous === undefined ? `at offset ${offset}` : `at offset ${offset} (after entry "${printable(previous)}")`;

  while (pos < fileSize) {
    const block = await r.read(pos, BLOCK);
    if (block.length < BLOCK) {
      // A partial first block with the ustar magic is a tar cut short, anything else is not a tar.
      const magic = block.length >= 262 && block.toString('latin1', 257, 262) === 'ustar';
      if (pos === 0 && !magic) throw new TarpushError('ARCHIVE_NOT_TAR', `${label} is not a tar archive (shorter than one header)`, { file: label });
      throw new TarpushError('ARCHIVE_TRUNCATED', `${label} is truncated: header ${where(pos)} is cut short`, {
        file: label,
        entry: previous,
      });
    }
    if (isZeroBlock(block)) break; // end of archive (a lone zero block ends it too, as GNU tar does)

    const parsed = parseHeader(block);
    if (!parsed.ok) {
      if (pos === 0) throw new TarpushError('ARCHIVE_NOT_TAR', `${label} is not a tar archive (${parsed.reason})`, { file: label });
      throw new TarpushError('ARCHIVE_NOT_TAR', `${label} has a corrupt tar header ${where(pos)}: ${parsed.reason}`, {
        file: label,
        entry: previous,
      });
    }
    const h = parsed.header;
    let dataStart = pos + BLOCK;
    if (h.gnuSparseExtended) {
      // Old GNU sparse files: extension blocks of sparse maps sit between header and data.
      for (;;) {
        const ext = await r.read(dataStart, BLOCK);
        if (ext.length < BLOCK) throw truncated(label, h.name, fileSize);
        dataStart += BLOCK;
        if (!sparseExtensionContinues(ext)) break;
      }
    }

    if (h.kind === 'pax' || h.kind === 'pax-global' || h.kind === 'gnu-longname' || h.kind === 'gnu-longlink') {
      if (h.size > MAX_META_SIZE) {
        throw new TarpushError('ARCHIVE_TOO_LARGE', `${label}: extended header ${where(pos)} is ${h.size} bytes (limit ${MAX_META_SIZE})`, {
          file: label,
          entry: previous,
        });
      }
      if (dataStart + paddedSize(h.size) > fileSize) throw truncated(label, `extended header ${where(pos)}`, fileSize);
      const data = Buffer.from(await r.read(dataStart, h.size));
      if (h.kind === 'gnu-longname' || h.kind === 'gnu-longlink') {
        const end = data.indexOf(0);
        const text = data.toString('utf8', 0, end < 0 ? data.length : end);
        if (h.kind === 'gnu-longname') longName = text;
        else longLink = text;
      } else {
        const records = parsePax(data);
        if (!records) {
          throw new TarpushError('ARCHIVE_NOT_TAR', `${label} has a malformed pax header ${where(pos)}`, { file: label, entry: previous });
        }
        if (h.kind === 'pax') local = { ...local, ...records };
        else global = { ...global, ...records };
      }
      pos = dataStart + paddedSize(h.size);
      continue;
    }

    const rawName = local.path ?? longName ?? global.path ?? h.name;
    const linkname = local.linkpath ?? longLink ?? global.linkpath ?? h.linkname;
    const size = entryDataSize(h, local.size ?? global.size);
    local = {};
    longName = undefined;
    longLink = undefined;

    // The padding to the next block must be there too (as Go's archive/tar and GNU tar require).
    if (dataStart + paddedSize(size) > fileSize) throw truncated(label, rawName, fileSize);

    const name = normaliseEntryName(rawName);
    const type = typeOf(h.kind);
    if (name === undefined || (name === '' && type !== 'dir')) {
      throw new TarpushError('ARCHIVE_ENTRY_UNSAFE', `${label}: entry "${printable(rawName)}" has an absolute path or a ".." segment`, {
        file: label,
        entry: rawName,
      });
    }
    if (name !== '') {
      const existing = entries.get(name);
      if (existing) {
        if (existing.type !== 'dir' || type !== 'dir') {
          throw new TarpushError(
            'ARCHIVE_DUPLICATE_ENTRY',
            `${label}: entry "${printable(name)}" appears more than once (offsets ${existing.offset - BLOCK} and ${pos}); refusing to guess which one is meant`,
            { file: label, entry: name },
          );
        }
      } else {
        const entry: TarEntry =
          type === 'symlink' || type === 'hardlink' ? { name, type, offset: dataStart, size, linkname } : { name, type, offset: dataStart, size };
        entries.set(name, entry);
      }
    }
    previous = name || rawName;
    pos = dataStart + paddedSize(size);
  }
  return entries;
}

function truncated(label: string, entry: string, fileSize: number): TarpushError {
  return new TarpushError('ARCHIVE_TRUNCATED', `${label} is truncated: entry "${printable(entry)}" needs more bytes than the ${fileSize} the archive has`, {
    file: label,
    entry,
  });
}

function resolveEntry(entries: ReadonlyMap<string, TarEntry>, name: string, label: string): TarEntry | undefined {
  const start = normaliseEntryName(name);
  if (start === undefined) {
    throw new TarpushError('ARCHIVE_ENTRY_UNSAFE', `${label}: "${printable(name)}" points outside the archive`, { file: label, entry: name });
  }
  let path = start;
  let hops = 0;
  restart: for (;;) {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i + 1).join('/');
      const e = entries.get(prefix);
      if (!e || (e.type !== 'symlink' && e.type !== 'hardlink')) continue;
      if (++hops > MAX_LINK_HOPS) {
        throw new TarpushError('ARCHIVE_LINK_LOOP', `${label}: links from "${printable(name)}" loop or chain more than ${MAX_LINK_HOPS} times`, {
          file: label,
          entry: name,
        });
      }
      const link = e.linkname ?? '';
      // Symlinks are relative to the link's directory; hard links name an archive entry.
      const dir = dirOf(prefix);
      const target =
        e.type === 'symlink' ? (link.startsWith('/') ? undefined : resolveWithinRoot(dir ? `${dir}/${link}` : link)) : normaliseEntryName(link);
      if (target === undefined || (e.type === 'hardlink' && target === '')) {
        throw new TarpushError('ARCHIVE_ENTRY_UNSAFE', `${label}: link "${printable(prefix)}" -> "${printable(link)}" points outside the archive`, {
          file: label,
          entry: prefix,
        });
      }
      path = [target, ...parts.slice(i + 1)].filter((s) => s !== '').join('/');
      continue restart;
    }
    return entries.get(path);
  }
}
