import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { indexTar, MAX_LINK_HOPS } from '../../src/archive/tar-index.js';
import { endOfArchive, gnuLong, packTar, rawEntry, rawHeader, tempDir, writeTemp, type TarSpec } from './support/build-tar.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

let n = 0;
const tarFile = async (data: Buffer): Promise<string> => writeTemp(dir, `t${n++}.tar`, data);
const indexOf = async (entries: TarSpec[]) => indexTar(await tarFile(await packTar(entries)));

async function dataAt(file: string, offset: number, size: number): Promise<string> {
  return (await readFile(file)).subarray(offset, offset + size).toString();
}

function rejectsWith(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(isTarpushError(err), `expected TarpushError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('tar indexer', () => {
  it('indexes ustar entries with normalised names and data offsets', async () => {
    const file = await tarFile(
      await packTar([
        { name: './dir/', type: 'directory' },
        { name: './dir//a.txt', data: 'hello' },
        { name: 'b.json', data: '{"x":1}' },
        { name: 'dir/link', type: 'symlink', linkname: 'a.txt' },
      ]),
    );
    const idx = await indexTar(file);
    assert.deepEqual([...idx.entries.keys()], ['dir', 'dir/a.txt', 'b.json', 'dir/link']);
    const a = idx.entries.get('dir/a.txt')!;
    assert.equal(a.type, 'file');
    assert.equal(a.size, 5);
    assert.equal(await dataAt(file, a.offset, a.size), 'hello');
    assert.equal(idx.entries.get('dir')!.type, 'dir');
    assert.deepEqual(idx.entries.get('dir/link'), { name: 'dir/link', type: 'symlink', offset: idx.entries.get('dir/link')!.offset, size: 0, linkname: 'a.txt' });
    assert.equal(idx.resolve('./dir/link'), a);
  });

  it('reads pax long names and pax size / linkpath records', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}.tar`;
    const file = await tarFile(await packTar([{ name: long, data: 'payload' }, { name: 'l', type: 'symlink', linkname: `${'t'.repeat(130)}` }]));
    const idx = await indexTar(file);
    const e = idx.entries.get(long)!;
    assert.equal(await dataAt(file, e.offset, e.size), 'payload');
    assert.equal(idx.entries.get('l')!.linkname, 't'.repeat(130));

    // A pax size record overrides the header's size field (as for entries over 8 GiB).
    const pax = (records: string[]) => {
      const body = records
        .map((r) => {
          let len = r.length + 3;
          if (`${len} ${r}\n`.length !== len) len = `${len} ${r}\n`.length;
          return `${len} ${r}\n`;
        })
        .join('');
      return body;
    };
    const handmade = Buffer.concat([
      rawEntry({ name: 'PaxHeader', typeflag: 'x' }, pax(['size=11', 'path=renamed.bin'])),
      rawEntry({ name: 'short', size: 0 }, 'eleven char'),
      rawEntry({ name: 'GlobalHead', typeflag: 'g' }, pax(['comment=ignored'])),
      rawEntry({ name: 'after' }, 'x'),
      endOfArchive(),
    ]);
    const f2 = await tarFile(handmade);
    const idx2 = await indexTar(f2);
    const r = idx2.entries.get('renamed.bin')!;
    assert.equal(r.size, 11);
    assert.equal(await dataAt(f2, r.offset, r.size), 'eleven char');
    assert.equal(await dataAt(f2, idx2.entries.get('after')!.offset, 1), 'x');
    assert.equal(idx2.entries.has('short'), false);
  });

  it('reads GNU long names and long link names', async () => {
    const longName = `gnu/${'n'.repeat(200)}`;
    const longLink = `${'k'.repeat(180)}`;
    const file = await tarFile(
      Buffer.concat([
        gnuLong('L', longName),
        rawEntry({ name: longName.slice(0, 99), format: 'gnu' }, 'gnu data'),
        gnuLong('K', longLink),
        rawEntry({ name: 'hl', typeflag: '2', linkname: longLink.slice(0, 99), format: 'gnu' }),
        endOfArchive(),
      ]),
    );
    const idx = await indexTar(file);
    const e = idx.entries.get(longName)!;
    assert.equal(await dataAt(file, e.offset, e.size), 'gnu data');
    assert.equal(idx.entries.get('hl')!.linkname, longLink);
  });

  it('reads old v7 headers and base-256 sizes', async () => {
    const file = await tarFile(
      Buffer.concat([
        rawEntry({ name: 'v7dir/', typeflag: '\0', format: 'v7' }),
        rawEntry({ name: 'v7dir/file', typeflag: '\0', format: 'v7' }, 'old'),
        rawEntry({ name: 'big', base256Size: true, format: 'gnu' }, 'base256'),
        endOfArchive(),
      ]),
    );
    const idx = await indexTar(file);
    assert.equal(idx.entries.get('v7dir')!.type, 'dir');
    const f = idx.entries.get('v7dir/file')!;
    assert.equal(f.type, 'file');
    assert.equal(await dataAt(file, f.offset, f.size), 'old');
    const b = idx.entries.get('big')!;
    assert.equal(b.size, 7);
    assert.equal(await dataAt(file, b.offset, b.size), 'base256');
  });

  it('accepts an archive that ends at an entry boundary without end blocks', async () => {
    const idx = await indexTar(await tarFile(rawEntry({ name: 'only' }, 'x')));
    assert.equal(idx.entries.get('only')!.size, 1);
  });

  it('indexes a 1 GiB entry without reading its data', async () => {
    // A sparse file: header, then a hole of 1 GiB, then the next header and end blocks.
    const size = 1024 ** 3;
    const file = `${dir}/sparse.tar`;
    const fh = await open(file, 'w');
    await fh.write(rawHeader({ name: 'huge.tar.gz', size }), 0, 512, 0);
    const next = rawEntry({ name: 'manifest.json' }, '[]');
    await fh.write(next, 0, next.length, 512 + size);
    await fh.truncate(512 + size + next.length + 1024);
    await fh.close();
    const t0 = performance.now();
    const idx = await indexTar(file);
    const ms = performance.now() - t0;
    assert.equal(idx.entries.get('huge.tar.gz')!.size, size);
    assert.equal(idx.entries.get('manifest.json')!.offset, 512 + size + 512);
    assert.ok(ms < 500, `indexing took ${ms} ms`);
  });

  describe('errors', () => {
    it('ARCHIVE_EMPTY for an empty file', async () => {
      await assert.rejects(indexTar(await tarFile(Buffer.alloc(0))), rejectsWith('ARCHIVE_EMPTY'));
    });

    it('ARCHIVE_NOT_TAR for bytes that are not a tar, and for a bad checksum later on', async () => {
      await assert.rejects(indexTar(await tarFile(Buffer.alloc(2048, 'x'))), rejectsWith('ARCHIVE_NOT_TAR', /not a tar archive/));
      await assert.rejects(indexTar(await tarFile(Buffer.from('short'))), rejectsWith('ARCHIVE_NOT_TAR'));
      const corrupt = Buffer.concat([rawEntry({ name: 'first' }, 'a'), rawEntry({ name: 'second', badChecksum: true }, 'b'), endOfArchive()]);
      await assert.rejects(indexTar(await tarFile(corrupt)), rejectsWith('ARCHIVE_NOT_TAR', /checksum.*|after entry "first"/));
    });

    it('ARCHIVE_TRUNCATED naming the entry when data or a header is cut short', async () => {
      const whole = Buffer.concat([rawEntry({ name: 'a.json' }, 'a'), rawEntry({ name: 'layer.tar' }, Buffer.alloc(3000, 1)), endOfArchive()]);
      const cutData = whole.subarray(0, 1024 + 512 + 1000);
      await assert.rejects(indexTar(await tarFile(cutData)), rejectsWith('ARCHIVE_TRUNCATED', /"layer\.tar"/));
      const cutHeader = whole.subarray(0, 1024 + 200);
      await assert.rejects(indexTar(await tarFile(cutHeader)), rejectsWith('ARCHIVE_TRUNCATED', /after entry "a\.json"/));
      // The first header cut after its ustar magic: a tar cut short, not "not a tar".
      await assert.rejects(indexTar(await tarFile(whole.subarray(0, 300))), rejectsWith('ARCHIVE_TRUNCATED'));
      // Data complete, but the padding to the next block is missing.
      const cutPadding = whole.subarray(0, 512 + 1);
      await assert.rejects(indexTar(await tarFile(cutPadding)), rejectsWith('ARCHIVE_TRUNCATED', /"a\.json"/));
    });

    it('ARCHIVE_ENTRY_UNSAFE for absolute names and ".." segments', async () => {
      for (const name of ['../evil', '/etc/passwd', 'a/../../b', 'ok/../../../x']) {
        const file = await tarFile(Buffer.concat([rawEntry({ name }, 'x'), endOfArchive()]));
        await assert.rejects(indexTar(file), rejectsWith('ARCHIVE_ENTRY_UNSAFE', new RegExp(name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))));
      }
    });

    it('ARCHIVE_DUPLICATE_ENTRY for a file written twice (also as ./name)', async () => {
      await assert.rejects(indexOf([{ name: 'manifest.json', data: '[]' }, { name: './manifest.json', data: '[1]' }]), rejectsWith('ARCHIVE_DUPLICATE_ENTRY', /manifest\.json/));
      // Directories may repeat.
      const idx = await indexOf([{ name: 'd/', type: 'directory' }, { name: 'd', type: 'directory' }]);
      assert.equal(idx.entries.get('d')!.type, 'dir');
    });
  });

  describe('NUL inside pax names', () => {
    /** One pax record (length counts bytes, the NUL included). */
    const rec = (key: string, value: string): string => {
      const body = ` ${key}=${value}\n`;
      let len = Buffer.byteLength(body) + 1;
      while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
      return `${len}${body}`;
    };
    const withNuls = () =>
      Buffer.concat([
        rawEntry({ name: 'PaxHeaders/1', typeflag: 'x' }, rec('path', 'manifest.json\0junk')),
        rawEntry({ name: 'header-name' }, '[]'),
        rawEntry({ name: 'PaxHeaders/2', typeflag: 'x' }, rec('linkpath', 'target\0more')),
        rawEntry({ name: 'link', typeflag: '2', linkname: 'header-target' }),
        rawEntry({ name: 'target' }, 'x'),
        endOfArchive(),
      ]);

    it('reads names and link targets as GNU tar lists them (cut at the NUL)', async () => {
      const file = await tarFile(withNuls());
      const idx = await indexTar(file);
      assert.deepEqual([...idx.entries.keys()], ['manifest.json', 'link', 'target']);
      assert.equal(idx.entries.get('link')!.linkname, 'target');
      // GNU tar, installed here, is the reference.
      const listed = execFileSync('tar', ['tvf', file], { encoding: 'utf8' }).trim().split('\n');
      const names = listed.map((l) => l.replace(/^(\S+\s+){5}/, ''));
      assert.deepEqual(names, ['manifest.json', 'link -> target', 'target']);
    });

    it('a duplicate formed by a NUL in a pax path is refused', async () => {
      const dup = Buffer.concat([
        rawEntry({ name: 'manifest.json' }, '[]'),
        rawEntry({ name: 'PaxHeaders/1', typeflag: 'x' }, rec('path', 'manifest.json\0junk')),
        rawEntry({ name: 'other' }, '[1]'),
        endOfArchive(),
      ]);
      await assert.rejects(indexTar(await tarFile(dup)), rejectsWith('ARCHIVE_DUPLICATE_ENTRY', /"manifest\.json" appears more than once/));
    });
  });

  describe('links', () => {
    it('resolves symlinks relative to their directory, through linked directories, and hard links by name', async () => {
      const idx = await indexOf([
        { name: 'abc.tar', data: 'layer bytes' },
        { name: 'id1/layer.tar', type: 'symlink', linkname: '../abc.tar' },
        { name: 'id2/layer.tar', type: 'link', linkname: 'abc.tar' },
        { name: 'real/file', data: 'f' },
        { name: 'alias', type: 'symlink', linkname: 'real' },
        { name: 'chain', type: 'symlink', linkname: 'id1/layer.tar' },
      ]);
      const target = idx.entries.get('abc.tar');
      assert.equal(idx.resolve('id1/layer.tar'), target);
      assert.equal(idx.resolve('id2/layer.tar'), target);
      assert.equal(idx.resolve('chain'), target);
      assert.equal(idx.resolve('alias/file'), idx.entries.get('real/file'));
      assert.equal(idx.resolve('missing'), undefined);
    });

    it('refuses links that escape the archive root', async () => {
      await assert.rejects(indexOf([{ name: 'a/b', type: 'symlink', linkname: '../../etc/passwd' }]), rejectsWith('ARCHIVE_ENTRY_UNSAFE', /"a\/b"/));
      await assert.rejects(indexOf([{ name: 'abs', type: 'symlink', linkname: '/etc/passwd' }]), rejectsWith('ARCHIVE_ENTRY_UNSAFE', /abs/));
      await assert.rejects(indexOf([{ name: 'hard', type: 'link', linkname: '../x' }]), rejectsWith('ARCHIVE_ENTRY_UNSAFE', /hard/));
    });

    it('ARCHIVE_LINK_LOOP for loops and chains longer than 16', async () => {
      await assert.rejects(indexOf([{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }]), rejectsWith('ARCHIVE_LINK_LOOP'));
      const chain = (len: number): TarSpec[] => [
        { name: 'end', data: 'x' },
        ...Array.from({ length: len }, (_, i): TarSpec => ({ name: `l${i}`, type: 'symlink', linkname: i === 0 ? 'end' : `l${i - 1}` })),
      ];
      const ok = await indexOf(chain(MAX_LINK_HOPS));
      assert.equal(ok.resolve(`l${MAX_LINK_HOPS - 1}`)!.name, 'end');
      await assert.rejects(indexOf(chain(MAX_LINK_HOPS + 1)), rejectsWith('ARCHIVE_LINK_LOOP'));
    });
  });
});
