/**
 * An independent, strict tar walker for checking that each corpus file really carries the
 * defect its case claims (so the corpus cannot silently turn valid). Deliberately separate
 * from src/archive: the corpus must not be validated by the code it is meant to test.
 */
import { BLOCK } from './tar-bytes.js';

export interface WalkedEntry {
  name: string;
  /** typeflag character ('0', '2', '5', …) */
  type: string;
  size: number;
  linkname: string;
  data: Buffer;
}

export type WalkProblem = 'not-tar' | 'truncated' | 'bad-header';

export interface WalkResult {
  entries: WalkedEntry[];
  problem?: WalkProblem;
  /** offset of the header where the problem was found */
  problemAt?: number;
  /** whether the archive ended with a zero block */
  endMarker: boolean;
}

const cstr = (b: Buffer): string => {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
};

function checksumOk(h: Buffer): boolean {
  const stored = cstr(h.subarray(148, 156)).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const want = parseInt(stored, 8);
  return want === unsigned || want === signed;
}

/** Size field: octal text or GNU base-256; undefined when it is neither (or negative). */
function parseSize(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined; // negative base-256
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const s = cstr(field).trim();
  if (!/^[0-7]*$/.test(s)) return undefined;
  return s === '' ? 0 : parseInt(s, 8);
}

/** pax records → map; undefined when a record does not parse. */
function parsePax(data: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) return undefined;
    const lenText = data.subarray(pos, sp).toString('ascii');
    if (!/^[1-9][0-9]*$/.test(lenText)) return undefined;
    const end = pos + parseInt(lenText, 10);
    if (end > data.length || data[end - 1] !== 0x0a) return undefined;
    const rec = data.subarray(sp + 1, end - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq <= 0) return undefined;
    const key = rec.slice(0, eq);
    let value = rec.slice(eq + 1);
    // Names end at a NUL, as GNU tar reads them (checked against `tar tvf`).
    if ((key === 'path' || key === 'linkpath') && value.includes('\0')) value = value.slice(0, value.indexOf('\0'));
    out.set(key, value);
    pos = end;
  }
  return out;
}

export function walkTar(buf: Buffer): WalkResult {
  const entries: WalkedEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  const fail = (problem: WalkProblem, at: number): WalkResult => ({ entries, problem, problemAt: at, endMarker: false });
  while (pos < buf.length) {
    if (pos + BLOCK > buf.length) {
      const partial = buf.subarray(pos);
      const looksTar = partial.length > 262 && partial.subarray(257, 262).toString('ascii') === 'ustar';
      return fail(pos === 0 && !looksTar ? 'not-tar' : 'truncated', pos);
    }
    const h = buf.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return { entries, endMarker: true };
    if (!checksumOk(h)) return fail(pos === 0 ? 'not-tar' : 'bad-header', pos);
    const headerSize = parseSize(h.subarray(124, 136));
    if (headerSize === undefined) return fail('bad-header', pos);
    const type = String.fromCharCode(h[156]!) || '0';
    let size = headerSize;
    if (pax?.has('size') && type !== 'x' && type !== 'g') {
      const s = pax.get('size')!;
      if (!/^[0-9]+$/.test(s)) return fail('bad-header', pos);
      size = Number(s);
    }
    const dataStart = pos + BLOCK;
    const dataEnd = dataStart + size;
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (next > buf.length) return fail('truncated', pos);
    const data = buf.subarray(dataStart, dataEnd);
    if (type === 'x') {
      const p = parsePax(data);
      if (!p) return fail('bad-header', pos);
      if (p.has('size') && !/^[0-9]+$/.test(p.get('size')!)) return fail('bad-header', pos);
      pax = p;
    } else if (type === 'L') {
      longName = cstr(data);
    } else if (type !== 'g') {
      const prefix = cstr(h.subarray(345, 500));
      const short = cstr(h.subarray(0, 100));
      const name = longName ?? pax?.get('path') ?? (prefix ? `${prefix}/${short}` : short);
      entries.push({ name, type: type === '\0' ? '0' : type, size, linkname: pax?.get('linkpath') ?? cstr(h.subarray(157, 257)), data });
      longName = undefined;
      pax = undefined;
    }
    pos = next;
  }
  return { entries, endMarker: false };
}
