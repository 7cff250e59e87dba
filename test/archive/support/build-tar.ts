import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, type Header } from 'tar-stream';

/**
 * Test helpers that write tar archives: well-formed ones through tar-stream (an
 * independent writer, so the indexer is not tested against itself), and hand-made header
 * blocks for what tar-stream does not write (GNU long names, v7 headers, corruption).
 */

export interface TarSpec {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  /** Extra pax records (tar-stream writes a pax header when given, or when the name is long). */
  pax?: Record<string, string>;
}

/** A tar of `entries`, in order, written by tar-stream. */
export async function packTar(entries: readonly TarSpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const h: Partial<Header> & { name: string } = { name: e.name, type: e.type ?? 'file', mtime: new Date(0), mode: 0o644 };
    if (e.linkname !== undefined) h.linkname = e.linkname;
    if (e.pax) h.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      if (data) p.entry({ ...h, size: data.length }, data, (err) => (err ? reject(err) : resolve()));
      else p.entry(h, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface RawHeader {
  name: string;
  size?: number;
  typeflag?: string;
  linkname?: string;
  /** ustar (POSIX), gnu (`ustar  `), or v7 (no magic). */
  format?: 'ustar' | 'gnu' | 'v7';
  /** Write the size in GNU base-256 (as tars do for entries over 8 GiB). */
  base256Size?: boolean;
  /** Break the checksum. */
  badChecksum?: boolean;
}

/** One 512-byte header block. */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  const size = h.size ?? 0;
  if (h.base256Size) {
    b[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) {
      b[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else {
    b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  }
  b.write('00000000000\0', 136, 'latin1');
  b.write(h.typeflag ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\x0000', 257, 'latin1');
  if (format === 'gnu') b.write('ustar  \0', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (h.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** A header plus its data, padded to whole blocks. */
export function rawEntry(h: RawHeader, data: Buffer | string = ''): Buffer {
  const d = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const pad = (512 - (d.length % 512)) % 512;
  return Buffer.concat([rawHeader({ ...h, size: h.size ?? d.length }), d, Buffer.alloc(pad)]);
}

/** GNU long-name ('L') or long-link ('K') record followed by the real header. */
export function gnuLong(kind: 'L' | 'K', value: string): Buffer {
  return rawEntry({ name: '././@LongLink', typeflag: kind, format: 'gnu' }, Buffer.from(`${value}\0`));
}

export const endOfArchive = (): Buffer => Buffer.alloc(1024);

/** A temp directory removed by `cleanup()`. */
export async function tempDir(prefix = 'tarpush-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write bytes to `dir/name` and return the path. */
export async function writeTemp(dir: string, name: string, data: Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}
