/**
 * What is wrong with each corpus file, as data, and a checker that confirms it is really so.
 * The corpus test runs the checker over every case: a malformed archive that drifted into a
 * valid one (or into a different defect) would otherwise make a reader test pass for nothing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createGunzip, gunzipSync, inflateRawSync } from 'node:zlib';
import { walkTar, type WalkProblem, type WalkedEntry } from './tar-walk.js';

type JsonType = 'array' | 'object' | 'string' | 'number' | 'boolean' | 'null';
type JsonPath = (string | number)[];

export type Defect =
  /** the file has exactly this many bytes */
  | { kind: 'size'; bytes: number }
  /** nothing but zero bytes, whole 512-byte blocks */
  | { kind: 'zero-blocks' }
  /** not gzip, and the first block is no tar header */
  | { kind: 'not-tar' }
  /** walking the tar (gunzipped first when gzip) meets this problem */
  | { kind: 'tar-problem'; problem: WalkProblem }
  /** the tar walks cleanly (or the directory exists) and its listing is so */
  | { kind: 'entries'; present?: string[]; absent?: string[]; duplicate?: string[] }
  /** an entry is a symlink / hard link, to this target when given */
  | { kind: 'link'; entry: string; linkType: 'symlink' | 'hardlink'; target?: string }
  /** an entry's bytes are not JSON */
  | { kind: 'json-invalid'; entry: string }
  /** a value inside an entry's JSON ([] = the whole document) */
  | { kind: 'json'; entry: string; path: JsonPath; type?: JsonType; equals?: unknown; absent?: true; length?: number }
  /** sha256 of an entry's bytes (gunzipped first if asked) is not this digest */
  | { kind: 'content-digest'; entry: string; gunzip?: boolean; notEqual: string }
  /** an entry's size is not this (or is at least min) */
  | { kind: 'entry-size'; entry: string; notEqual?: number; min?: number }
  /** index.json → manifests[0] → … nests at least this deep */
  | { kind: 'index-depth'; min: number }
  /** index.json reaches at least this many distinct manifest / index blobs, every one present with its true digest */
  | { kind: 'distinct-manifests'; min: number }
  /** gzip-level defects; memberLength = bytes of the valid member before trailing garbage */
  | { kind: 'gzip'; expect: 'truncated' | 'trailing-garbage' | 'bad-crc' | 'corrupt'; memberLength?: number }
  /** a small gzip whose trailer claims at least this many uncompressed bytes, tar inside */
  | { kind: 'gzip-bomb'; minExpanded: number; maxFileSize: number }
  | { kind: 'all'; of: Defect[] };

const isGzip = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const norm = (name: string): string => posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/$/, '');

/** Entries of a tar file (gunzipped if needed) or of a directory tree. */
function listing(file: string): { entries: WalkedEntry[]; problem?: WalkProblem } {
  if (statSync(file).isDirectory()) {
    const entries: WalkedEntry[] = [];
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(file, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(file, r));
        if (st.isDirectory()) walk(r);
        else if (st.isSymbolicLink()) entries.push({ name: r, type: '2', size: 0, linkname: readlinkSync(join(file, r)), data: Buffer.alloc(0) });
        else {
          const data = readFileSync(join(file, r));
          entries.push({ name: r, type: '0', size: data.length, linkname: '', data });
        }
      }
    };
    walk('');
    return { entries };
  }
  let buf = readFileSync(file);
  if (isGzip(buf)) buf = gunzipSync(buf);
  return walkTar(buf);
}

function entry(file: string, name: string): WalkedEntry {
  const l = listing(file);
  const found = l.entries.filter((e) => norm(e.name) === norm(name));
  if (found.length === 0) throw new Error(`entry ${name} not found`);
  return found[0]!;
}

function jsonAt(doc: unknown, path: JsonPath): { found: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !(k in (cur as object))) return { found: false };
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return { found: true, value: cur };
}

const typeOf = (v: unknown): JsonType =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as 'object' | 'string' | 'number' | 'boolean');

async function gzipBomb(file: string, d: { minExpanded: number; maxFileSize: number }): Promise<string | undefined> {
  const buf = readFileSync(file);
  if (!isGzip(buf)) return 'not gzip';
  if (buf.length > d.maxFileSize) return `file is ${buf.length} bytes, over ${d.maxFileSize}`;
  const isize = buf.readUInt32LE(buf.length - 4);
  if (isize < d.minExpanded) return `trailer ISIZE ${isize} under ${d.minExpanded}`; // (minExpanded < 4 GiB)
  // Inflate only the first MiB: a tar header announcing a huge entry, then zeros.
  const head = await new Promise<Buffer>((resolve, reject) => {
    const g = createGunzip();
    const chunks: Buffer[] = [];
    let n = 0;
    g.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= 1 << 20) {
        g.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    g.on('error', reject);
    g.on('end', () => resolve(Buffer.concat(chunks)));
    g.end(buf);
  });
  const walked = walkTar(head);
  if (walked.problem !== 'truncated') return 'the inflated head is not the start of a big tar entry';
  const size = parseInt(head.subarray(124, 136).toString('ascii').replace(/\0.*$/, ''), 8);
  if (!(size >= d.minExpanded - 4096)) return `first entry declares ${size} bytes`;
  if (!head.subarray(512).every((b) => b === 0)) return 'entry data is not zeros';
  return undefined;
}

/** undefined when the file has the defect; otherwise why not. */
export async function checkDefect(file: string, d: Defect): Promise<string | undefined> {
  try {
    switch (d.kind) {
      case 'size': {
        const n = statSync(file).size;
        return n === d.bytes ? undefined : `size ${n}, expected ${d.bytes}`;
      }
      case 'zero-blocks': {
        const b = readFileSync(file);
        return b.length > 0 && b.length % 512 === 0 && b.every((x) => x === 0) ? undefined : 'not all-zero whole blocks';
      }
      case 'not-tar': {
        const b = readFileSync(file);
        if (isGzip(b)) return 'starts with the gzip magic';
        const w = walkTar(b);
        return w.problem === 'not-tar' ? undefined : `walks as tar (${w.problem ?? 'cleanly'})`;
      }
      case 'tar-problem': {
        const w = listing(file);
        return w.problem === d.problem ? undefined : `walk problem is ${w.problem ?? 'none'}, expected ${d.problem}`;
      }
      case 'entries': {
        const l = listing(file);
        if (l.problem) return `tar does not walk cleanly: ${l.problem}`;
        const names = l.entries.map((e) => norm(e.name));
        for (const p of d.present ?? []) if (!names.includes(norm(p))) return `missing entry ${p}`;
        for (const a of d.absent ?? []) if (names.includes(norm(a))) return `entry ${a} is present`;
        for (const dup of d.duplicate ?? []) {
          if (names.filter((n) => n === norm(dup)).length < 2) return `entry ${dup} is not duplicated`;
        }
        return undefined;
      }
      case 'link': {
        const e = entry(file, d.entry);
        const want = d.linkType === 'symlink' ? '2' : '1';
        if (e.type !== want) return `entry ${d.entry} has type ${e.type}`;
        return d.target === undefined || e.linkname === d.target ? undefined : `links to ${e.linkname}`;
      }
      case 'json-invalid': {
        try {
          JSON.parse(entry(file, d.entry).data.toString('utf8'));
          return `${d.entry} parses as JSON`;
        } catch (e) {
          return e instanceof SyntaxError ? undefined : String(e);
        }
      }
      case 'json': {
        const doc: unknown = JSON.parse(entry(file, d.entry).data.toString('utf8'));
        const at = jsonAt(doc, d.path);
        if (d.absent) return at.found ? `${d.path.join('.')} is present` : undefined;
        if (!at.found) return `${d.path.join('.')} not found`;
        if (d.type && typeOf(at.value) !== d.type) return `${d.path.join('.')} is ${typeOf(at.value)}, expected ${d.type}`;
        if ('equals' in d && JSON.stringify(at.value) !== JSON.stringify(d.equals)) return `${d.path.join('.')} = ${JSON.stringify(at.value)}`;
        if (d.length !== undefined && (!Array.isArray(at.value) || at.value.length !== d.length)) return `${d.path.join('.')} length differs`;
        return undefined;
      }
      case 'content-digest': {
        let data = entry(file, d.entry).data;
        if (d.gunzip) data = gunzipSync(data);
        const got = `sha256:${createHash('sha256').update(data).digest('hex')}`;
        return got !== d.notEqual ? undefined : `content digest equals ${d.notEqual}`;
      }
      case 'entry-size': {
        const n = entry(file, d.entry).size;
        if (d.notEqual !== undefined && n === d.notEqual) return `size is ${n}`;
        if (d.min !== undefined && n < d.min) return `size ${n} under ${d.min}`;
        return undefined;
      }
      case 'index-depth': {
        const l = listing(file);
        const byName = new Map(l.entries.map((e) => [norm(e.name), e.data]));
        let doc = JSON.parse(byName.get('index.json')!.toString()) as { manifests?: { digest: string; mediaType: string }[] };
        let depth = 0;
        while (doc.manifests?.[0]?.mediaType === 'application/vnd.oci.image.index.v1+json') {
          const blob = byName.get(`blobs/sha256/${doc.manifests[0].digest.slice(7)}`);
          if (!blob) break;
          doc = JSON.parse(blob.toString());
          depth++;
        }
        return depth >= d.min ? undefined : `nests ${depth} deep`;
      }
      case 'distinct-manifests': {
        const l = listing(file);
        const byName = new Map(l.entries.map((e) => [norm(e.name), e.data]));
        type Doc = { manifests?: { digest: string }[] };
        const seen = new Set<string>();
        const queue = [...((JSON.parse(byName.get('index.json')!.toString()) as Doc).manifests ?? [])];
        while (queue.length > 0) {
          const { digest } = queue.pop()!;
          if (seen.has(digest)) continue;
          seen.add(digest);
          const blob = byName.get(`blobs/sha256/${digest.slice(7)}`);
          if (!blob) return `blob ${digest} is missing`;
          if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== digest) return `blob ${digest} has another digest`;
          queue.push(...((JSON.parse(blob.toString()) as Doc).manifests ?? []));
        }
        return seen.size >= d.min ? undefined : `reaches ${seen.size} distinct manifests`;
      }
      case 'gzip': {
        const b = readFileSync(file);
        if (!isGzip(b)) return 'not gzip';
        if (d.expect === 'trailing-garbage') {
          const n = d.memberLength ?? 0;
          gunzipSync(b.subarray(0, n)); // the member itself is fine…
          const rest = b.subarray(n);
          return rest.length > 0 && !isGzip(rest) ? undefined : 'no garbage after the member';
        }
        try {
          gunzipSync(b);
          return 'gunzips cleanly';
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (d.expect === 'truncated') return code === 'Z_BUF_ERROR' ? undefined : `fails with ${code}, not as truncated`;
          if (d.expect === 'bad-crc') {
            inflateRawSync(b.subarray(10, b.length - 8)); // the deflate data itself is intact
            return code === 'Z_DATA_ERROR' ? undefined : `fails with ${code}`;
          }
          return code === 'Z_DATA_ERROR' ? undefined : `fails with ${code}`;
        }
      }
      case 'gzip-bomb':
        return await gzipBomb(file, d);
      case 'all': {
        for (const sub of d.of) {
          const why = await checkDefect(file, sub);
          if (why) return `${sub.kind}: ${why}`;
        }
        return undefined;
      }
    }
  } catch (e) {
    return `check failed: ${(e as Error).message}`;
  }
}
