/**
 * A byte-exact ustar writer for the malformed corpus. Written here rather than taken from
 * tar-stream because the corpus needs what a well-behaved writer refuses to produce: wrong
 * checksums, sizes that lie, pax records that do not parse, GNU long names cut short.
 */
import { createHash } from 'node:crypto';

export const BLOCK = 512;

export type TarType = 'file' | 'dir' | 'symlink' | 'link' | 'pax' | 'gnu-longname';

const TYPEFLAG: Record<TarType, string> = {
  file: '0',
  dir: '5',
  symlink: '2',
  link: '1',
  pax: 'x',
  'gnu-longname': 'L',
};

export interface TarEntrySpec {
  name: string;
  type?: TarType;
  data?: Buffer;
  linkname?: string;
  mode?: number;
  /** Size written in the header when it must differ from data.length. */
  declaredSize?: number;
  /** Raw 12-byte size field (e.g. not octal), written as is. */
  rawSizeField?: Buffer;
  /** Leave the checksum field wrong. */
  badChecksum?: boolean;
}

/** Fixed mtime of every corpus entry (2023-11-14T22:13:20Z). */
const MTIME = 1700000000;

function octal(n: number, width: number): string {
  // width - 1 digits, then NUL, as GNU tar and Go write them.
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header. */
export function tarHeader(spec: TarEntrySpec): Buffer {
  const type = spec.type ?? 'file';
  const h = Buffer.alloc(BLOCK);
  const size = spec.declaredSize ?? (type === 'file' || type === 'pax' || type === 'gnu-longname' ? (spec.data?.length ?? 0) : 0);
  const nameBytes = Buffer.from(spec.name);
  if (nameBytes.length > 100) throw new Error(`tarHeader: name over 100 bytes: ${spec.name}`);
  nameBytes.copy(h, 0);
  h.write(octal(spec.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  if (spec.rawSizeField) spec.rawSizeField.copy(h, 124, 0, 12);
  else h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(MTIME, 12), 136, 'ascii');
  h.write(TYPEFLAG[type], 156, 'ascii');
  if (spec.linkname !== undefined) Buffer.from(spec.linkname).copy(h, 157, 0, 100);
  h.write('ustar\u000000', 257, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  if (spec.badChecksum) sum += 1;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** Header, data and padding of one entry. */
export function tarEntry(spec: TarEntrySpec): Buffer {
  const data = spec.data ?? Buffer.alloc(0);
  return Buffer.concat([tarHeader(spec), data, pad(data.length)]);
}

/** The two zero blocks that end an archive. */
export const tarEnd = (): Buffer => Buffer.alloc(2 * BLOCK);

/** A whole archive: entries then (unless told otherwise) the end-of-archive blocks. */
export function tarArchive(entries: TarEntrySpec[], opts: { end?: boolean } = {}): Buffer {
  return Buffer.concat([...entries.map(tarEntry), ...(opts.end === false ? [] : [tarEnd()])]);
}

/** One pax record: "<len> key=value\n" where len counts the whole record. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** Byte offsets of each entry header in an archive built by tarArchive (for cutting). */
export function headerOffsets(entries: TarEntrySpec[]): number[] {
  const out: number[] = [];
  let pos = 0;
  for (const e of entries) {
    out.push(pos);
    pos += tarEntry(e).length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (sha256 in counter mode): no Math.random in fixtures. */
export function pseudoRandom(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, off = 0; off < n; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

export const sha256hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
export const sha256 = (b: Buffer | string): `sha256:${string}` => `sha256:${sha256hex(b)}`;
