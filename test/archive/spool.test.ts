import assert from 'node:assert/strict';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openArchive } from '../../src/archive/open.js';
import { spool } from '../../src/archive/spool.js';
import { TarEndWatcher } from '../../src/archive/tar-end.js';
import { endOfArchive, packTar, rawEntry, rawHeader, tempDir, writeTemp } from './support/build-tar.js';
import { tarpushError } from './support/assert-error.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

let n = 0;
async function freshDir(): Promise<string> {
  const d = `${dir}/d${n++}`;
  await mkdir(d);
  return d;
}

/** A gzip stream of `count` × 1 MiB of zeros as concatenated members: tiny on disk, huge unpacked. */
function zeroMembers(count: number): Buffer[] {
  const member = gzipSync(Buffer.alloc(1 << 20), { level: 9 });
  return Array.from({ length: count }, () => member);
}

describe('spooling', () => {
  it('stops at the end-of-archive marker: a bomb of zeros is not spooled', async () => {
    const tmp = await freshDir();
    const tar = await packTar([{ name: 'manifest.json', data: '[]' }]);
    // A valid tar, then 512 MiB of zeros in the same gzip stream.
    const input = Readable.from([gzipSync(tar), ...zeroMembers(512)]);
    const t0 = performance.now();
    const s = await spool(input, { label: 'bomb', tmpDir: tmp });
    const ms = performance.now() - t0;
    const size = (await stat(s.file)).size;
    assert.ok(size <= tar.length, `spooled ${size} bytes`);
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.equal(s.gzipped, true);
    await s.remove();
    assert.deepEqual(await readdir(tmp), []);
  });

  it('fails fast with ARCHIVE_TOO_LARGE when gzip output outgrows the ratio, with flat memory, and cleans up', async () => {
    const tmp = await freshDir();
    // A header announcing an 8 GiB entry whose data is zeros: only the ratio bound stops it.
    const header = rawHeader({ name: 'huge.tar', size: 8 * 1024 ** 3 - 1, base256Size: true, format: 'gnu' });
    const input = Readable.from([gzipSync(header), ...zeroMembers(4096)]);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    await assert.rejects(
      openArchive('-', { stdin: input, tmpDir: tmp }),
      tarpushError('ARCHIVE_TOO_LARGE', /stdin/, /gzip bomb/),
    );
    const ms = performance.now() - t0;
    const grew = process.memoryUsage().rss - rss0;
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.ok(grew < 64 * 1024 * 1024, `rss grew by ${grew}`);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('applies a custom ratio and an absolute byte limit', async () => {
    const tmp = await freshDir();
    const header = rawHeader({ name: 'z', size: 64 * 1024 * 1024 });
    await assert.rejects(
      spool(Readable.from([gzipSync(header), ...zeroMembers(8)]), { label: 'x', tmpDir: tmp, maxRatio: 10, ratioAfter: 1 << 20 }),
      tarpushError('ARCHIVE_TOO_LARGE', /10 times/),
    );
    const plain = Buffer.concat([rawEntry({ name: 'big' }, Buffer.alloc(2 << 20, 7)), endOfArchive()]);
    await assert.rejects(openArchive('-', { stdin: Readable.from([plain]), tmpDir: tmp, maxSpoolBytes: 1 << 20 }), tarpushError('ARCHIVE_TOO_LARGE', /1048576/));
    assert.deepEqual(await readdir(tmp), []);
  });

  it('reports a gzip stream cut short as ARCHIVE_TRUNCATED and removes the temp file', async () => {
    const tmp = await freshDir();
    const gz = gzipSync(await packTar([{ name: 'a', data: Buffer.alloc(100_000, 3) }]));
    const file = await writeTemp(dir, 'cut.tar.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    await assert.rejects(openArchive(file, { tmpDir: tmp }), tarpushError('ARCHIVE_TRUNCATED', /cut\.tar\.gz/));
    assert.deepEqual(await readdir(tmp), []);
  });

  it('honours TMPDIR through os.tmpdir()', async () => {
    const tmp = await freshDir();
    const old = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const s = await spool(Readable.from([await packTar([{ name: 'x', data: 'y' }])]), { label: 'stdin' });
      assert.ok(s.file.startsWith(tmp), s.file);
      await s.remove();
    } finally {
      if (old === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = old;
    }
  });
});

describe('TarEndWatcher', () => {
  it('finds the end after pax-sized entries, one byte at a time', async () => {
    const tar = await packTar([
      { name: `${'p'.repeat(150)}`, data: Buffer.alloc(1000, 1) },
      { name: 'b', data: 'x' },
    ]);
    const w = new TarEndWatcher();
    let end: number | undefined;
    let pos = 0;
    for (; pos < tar.length && end === undefined; pos++) end = w.feed(tar.subarray(pos, pos + 1));
    // The first end-of-archive block lies right after the last entry's padded data.
    assert.equal(end, 1);
    const lastData = tar.length - 1024; // tar-stream writes two zero blocks
    assert.equal(pos, lastData + 512);
  });
});
