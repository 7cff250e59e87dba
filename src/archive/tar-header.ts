/**
 * Decoding of single 512-byte tar header blocks and pax extended-header records. Shared by
 * the seekable indexer (tar-index.ts) and the end-of-archive watcher used while spooling
 * (spool.ts), so both agree on where an entry's data ends.
 *
 * Formats understood: v7 (no magic), POSIX ustar (`ustar\0` + `00`, name prefix field),
 * GNU (`ustar ` + ` \0`: prefix area holds other fields, long names come as 'L'/'K'
 * entries), pax ('x' per-entry and 'g' global records), and base-256 numeric fields.
 */

export const BLOCK = 512;

/** Raw typeflag classes an indexer cares about. */
export type HeaderKind =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'pax' // 'x': records for the next entry
  | 'pax-global' // 'g': records for all following entries
  | 'gnu-longname' // 'L'
  | 'gnu-longlink' // 'K'
  | 'other'; // devices, fifos, sparse files, volume labels…

export interface TarHeader {
  /** Name from the header fields (ustar prefix joined), before pax / GNU overrides. */
  name: string;
  linkname: string;
  /** Size of the data that follows the header (padded to 512 on disk). */
  size: number;
  kind: HeaderKind;
  /** The raw typeflag character ('\0' for v7 regular files). */
  typeflag: string;
  /** GNU sparse headers may be followed by extension blocks before the data. */
  gnuSparseExtended: boolean;
}

export type HeaderResult =
  | { ok: true; header: TarHeader }
  | { ok: false; reason: string };

/** Whether a 512-byte block is all zeros (end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function cString(block: Uint8Array, start: number, length: number): string {
  let end = start;
  const limit = start + length;
  while (end < limit && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('utf8');
}

/**
 * A numeric field: octal text (optionally space/NUL padded), or GNU base-256 when the top
 * bit of the first byte is set. Returns undefined for garbage or negative / unsafe values.
 */
export function parseNumeric(block: Uint8Array, start: number, length: number): number | undefined {
  const first = block[start]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative base-256: never a valid size
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + block[start + i]!;
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
    digits++;
  }
  // Anything after the terminator must be padding.
  for (; i < end; i++) if (block[i] !== 0x20 && block[i] !== 0) return undefined;
  return digits === 0 ? 0 : value;
}

/** Header checksum: the byte sum with the checksum field counted as spaces (unsigned or signed, as old tars did). */
function checksumMatches(block: Uint8Array): boolean {
  const stored = parseNumeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function kindOf(typeflag: string, name: string): HeaderKind {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7': // contiguous file: a regular file everywhere that matters
      // v7 tars mark directories only by a trailing slash.
      return typeflag === '\0' && name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'dir';
    case 'x':
      return 'pax';
    case 'g':
      return 'pax-global';
    case 'L':
      return 'gnu-longname';
    case 'K':
      return 'gnu-longlink';
    default:
      return 'other';
  }
}

/** Decode one header block (which must not be a zero block). */
export function parseHeader(block: Uint8Array): HeaderResult {
  if (block.length < BLOCK) return { ok: false, reason: 'short header block' };
  if (!checksumMatches(block)) return { ok: false, reason: 'header checksum mismatch' };
  const size = parseNumeric(block, 124, 12);
  if (size === undefined) return { ok: false, reason: 'invalid size field' };
  const typeflag = String.fromCharCode(block[156]!);
  let name = cString(block, 0, 100);
  const linkname = cString(block, 157, 100);
  const magic = cString(block, 257, 6);
  const isGnu = magic === 'ustar ' && block[263] === 0x20;
  if (!isGnu && magic === 'ustar') {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  // GNU sparse: byte 482 says whether extension blocks of sparse maps follow.
  const gnuSparseExtended = isGnu && typeflag === 'S' && block[482] !== 0;
  return { ok: true, header: { name, linkname, size, kind: kindOf(typeflag, name), typeflag, gnuSparseExtended } };
}

/** Whether a GNU sparse extension block announces yet another one (byte 504). */
export const sparseExtensionContinues = (block: Uint8Array): boolean => block[504] !== 0;

/** Pax keys we apply; others (mtime, uid, xattrs…) do not matter for reading images. */
export interface PaxRecords {
  path?: string;
  linkpath?: string;
  size?: number;
}

const beforeNul = (s: string): string => {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
};

/**
 * Parse pax records `"<len> <key>=<value>\n"`. Returns undefined when the data is malformed
 * (length fields that do not add up), which the caller reports with the entry's position.
 */
export function parsePax(data: Uint8Array): PaxRecords | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out: PaxRecords = {};
  let pos = 0;
  while (pos < buf.length) {
    // Trailing NUL padding is tolerated.
    if (buf[pos] === 0) break;
    const space = buf.indexOf(0x20, pos);
    if (space < 0) return undefined;
    const len = Number(buf.toString('latin1', pos, space));
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > buf.length) return undefined;
    const record = buf.toString('utf8', space + 1, pos + len);
    if (!record.endsWith('\n')) return undefined;
    const eq = record.indexOf('=');
    if (eq < 0) return undefined;
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1, -1);
    // A name ends at a NUL, as GNU tar reads it (`tar tvf` lists "a\0junk" as "a"): reading
    // more than the extracting tool would lets one entry hide as another (duplicates unseen).
    if (key === 'path') out.path = beforeNul(value);
    else if (key === 'linkpath') out.linkpath = beforeNul(value);
    else if (key === 'size') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) return undefined;
      out.size = n;
    }
    pos += len;
  }
  return out;
}

/** Size of an entry's data area on disk (data padded to the block size). */
export const paddedSize = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** Largest extended header (pax records, GNU long name or link) read for its contents: they are metadata, and anything bigger is not a real archive. */
export const MAX_META_SIZE = 1 << 20;

/**
 * Bytes of data that follow an entry's header: the pax `size` record when there is one
 * (local over global, the caller's `paxSize`), else the header's; none for header-only
 * types (1–6: links, devices, directories, fifos) whatever their size field says, as Go's
 * archive/tar reads them.
 */
export function entryDataSize(h: TarHeader, paxSize: number | undefined): number {
  return /^[1-6]$/.test(h.typeflag) ? 0 : (paxSize ?? h.size);
}
