import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { openArchive } from '../../src/archive/open.js';
import { canDecompress } from '../../src/compress/decompress.js';
import type { Digest } from '../../src/image/digest.js';
import { bufferSource, fileRangeSource } from '../../src/image/sources.js';
import type { Descriptor, Image, ImageIndex, Layer } from '../../src/image/types.js';
import { LayerVerifier } from '../../src/image/verify.js';
import { endOfArchive, gnuLong, packTar, rawEntry, tempDir, writeTemp } from '../archive/support/build-tar.js';
import { tarpushError } from '../archive/support/assert-error.js';
import { sha } from '../archive/support/images.js';

/**
 * Layers that are not what they claim: the compression magic must match the media type and
 * the uncompressed bytes must be a tar. Built from real bytes (the zstd CLI, node:zlib gzip,
 * tar-stream and GNU tar archives, hand-made header blocks).
 */

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const PLAIN = 'application/vnd.oci.image.layer.v1.tar';
const zero: Digest = `sha256:${'0'.repeat(64)}`;

const verifier = new LayerVerifier();
let dir: string;
let cleanup: () => Promise<void>;
let tar: Buffer;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  tar = await packTar([{ name: 'etc/hello', data: 'hello\n'.repeat(500) }, { name: 'etc/sub', type: 'directory' }]);
});
after(async () => {
  await verifier.close();
  await cleanup();
});

/** A layer over `stored`, claiming `mediaType`, whose diff_id is that of `plain`. */
function layerOf(stored: Buffer, mediaType: string, plain: Buffer, compression: Layer['compression'] = 'gzip'): Layer {
  return { digest: sha(stored), size: stored.length, mediaType, compression, diffId: sha(plain), source: bufferSource(stored, 'img.tar!blob') };
}

const zstdCli = (input: Buffer): Buffer => execFileSync('zstd', ['-q', '-c', '-3'], { input });

describe('compression magic against the media type', () => {
  it('refuses zstd bytes under a +gzip media type, before the stream ends', async () => {
    const z = zstdCli(tar);
    assert.deepEqual([...z.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    // compression: 'zstd' is what a reader detects from the bytes; the media type still says gzip.
    const layer = layerOf(z, GZIP, tar, 'zstd');
    const expected = tarpushError('LAYER_INVALID', new RegExp(`^layer ${sha(z)} \\(img\\.tar!blob\\): bytes are zstd but its media type ${GZIP.replace(/[.+]/g, '\\$&')} says gzip$`));
    await assert.rejects(verifier.verifyLayer(layer), expected);
    const v = verifier.verifyingSource(layer);
    await assert.rejects(buffer(v.source.open()), expected); // an upload reading it aborts
    await assert.rejects(v.verified, expected);
  });

  it('refuses gzip bytes under an uncompressed media type and plain bytes under +gzip', async () => {
    const g = gzipSync(tar);
    await assert.rejects(verifier.verifyLayer(layerOf(g, PLAIN, tar, 'none')), tarpushError('LAYER_INVALID', /bytes are gzip but its media type .* says uncompressed/));
    await assert.rejects(verifier.verifyLayer(layerOf(tar, GZIP, tar, 'none')), tarpushError('LAYER_INVALID', /bytes are uncompressed but its media type .* says gzip/));
    // Shorter than a magic number: judged at the end of the stream.
    const two = Buffer.from([0x1f, 0x8b]);
    await assert.rejects(verifier.verifyLayer(layerOf(two, GZIP, two)), tarpushError('LAYER_INVALID', /bytes are uncompressed but/));
  });

  it('checks the magic of zstd layers even where their diff_id cannot be checked', async () => {
    const z = zstdCli(tar);
    const ok = await verifier.verifyLayer(layerOf(z, ZSTD, tar, 'zstd'));
    assert.equal(ok.compression, 'zstd');
    assert.equal(ok.diffIdChecked, canDecompress('zstd'));
    const g = gzipSync(tar);
    await assert.rejects(verifier.verifyLayer(layerOf(g, ZSTD, tar, 'gzip')), tarpushError('LAYER_INVALID', /bytes are gzip but its media type .* says zstd/));
  });

  it('refuses a zstd layer whose content is not a tar where node:zlib decodes zstd', { skip: !canDecompress('zstd') && 'no zstd decoder in this Node' }, async () => {
    const raw = randomBytes(4096);
    const z = zstdCli(raw);
    await assert.rejects(verifier.verifyLayer(layerOf(z, ZSTD, raw, 'zstd')), tarpushError('LAYER_INVALID', /not a tar: bad header checksum at offset 0/));
  });
});

describe('the uncompressed stream is a tar', () => {
  it('refuses a gzip of random bytes whose diff_id is right: LAYER_INVALID, not DIFF_ID_MISMATCH', async () => {
    const raw = randomBytes(64 * 1024);
    const g = gzipSync(raw);
    await assert.rejects(verifier.verifyLayer(layerOf(g, GZIP, raw)), tarpushError('LAYER_INVALID', new RegExp(`^layer ${sha(g)} .*: not a tar: bad header checksum at offset 0$`)));
  });

  it('refuses an uncompressed layer of random bytes as it streams', async () => {
    const raw = randomBytes(8192);
    const v = verifier.verifyingSource(layerOf(raw, PLAIN, raw, 'none'));
    await assert.rejects(buffer(v.source.open()), tarpushError('LAYER_INVALID', /not a tar: bad header checksum at offset 0/));
    await assert.rejects(v.verified, tarpushError('LAYER_INVALID'));
  });

  it('passes a valid gzip layer and says its diff_id was checked', async () => {
    const g = gzipSync(tar);
    assert.deepEqual(await verifier.verifyLayer(layerOf(g, GZIP, tar)), { digest: sha(g), size: g.length, compression: 'gzip', diffIdChecked: true });
    assert.deepEqual(await verifier.verifyLayer(layerOf(tar, PLAIN, tar, 'none')), { digest: sha(tar), size: tar.length, compression: 'none', diffIdChecked: true });
  });

  it('passes an empty tar (two zero blocks), plain and gzipped', async () => {
    const empty = Buffer.alloc(1024);
    await verifier.verifyLayer(layerOf(empty, PLAIN, empty, 'none'));
    await verifier.verifyLayer(layerOf(gzipSync(empty), GZIP, empty));
    // Zero padding after the end blocks (GNU tar pads to 10 KiB records) is allowed.
    const padded = Buffer.alloc(10240);
    await verifier.verifyLayer(layerOf(gzipSync(padded), GZIP, padded));
  });

  it('passes ustar, GNU (long names), v7 and pax headers, and what GNU tar writes', async () => {
    const mixed = Buffer.concat([
      rawEntry({ name: 'ustar.txt', format: 'ustar' }, 'u'),
      gnuLong('L', `long/${'n'.repeat(200)}`),
      rawEntry({ name: 'truncated', format: 'gnu' }, 'g'.repeat(600)),
      rawEntry({ name: 'v7.txt', format: 'v7' }, 'v'),
      rawEntry({ name: 'dir/', typeflag: '5' }),
      rawEntry({ name: 'link', typeflag: '2', linkname: 'v7.txt', size: 0 }),
      endOfArchive(),
    ]);
    await verifier.verifyLayer(layerOf(gzipSync(mixed), GZIP, mixed));
    const pax = await packTar([{ name: `p/${'x'.repeat(150)}`, data: 'pax', pax: { comment: 'é' } }]);
    await verifier.verifyLayer(layerOf(gzipSync(pax), GZIP, pax));
    const files = fileURLToPath(new URL('../../src/image/', import.meta.url));
    const gnu = execFileSync('tar', ['--format=gnu', '-cf', '-', '-C', files, '.']);
    const posix = execFileSync('tar', ['--format=posix', '-cf', '-', '-C', files, '.']);
    await verifier.verifyLayer(layerOf(gnu, PLAIN, gnu, 'none'));
    await verifier.verifyLayer(layerOf(gzipSync(posix), GZIP, posix));
  });

  it('accepts the endings Go archive/tar accepts: one, or no, end block, and a last entry without padding', async () => {
    // What umoci 0.4.7 writes: the header, the data, nothing more (docker and containerd apply it).
    const umoci = rawEntry({ name: 'etc/hello' }, 'hello from umoci\n').subarray(0, 512 + 17);
    const endings = [umoci, tar.subarray(0, tar.length - 1024), tar.subarray(0, tar.length - 512), Buffer.alloc(0), Buffer.alloc(512)];
    for (const plain of endings) {
      await verifier.verifyLayer(layerOf(gzipSync(plain), GZIP, plain));
      await verifier.verifyLayer(layerOf(plain, PLAIN, plain, 'none'));
    }
  });

  it('names what is wrong: a cut entry, a cut header, a lone zero block, a bad checksum further on', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [rawEntry({ name: 'a' }, 'x'.repeat(1000)).subarray(0, 1200), /not a tar: ends inside the data of the entry at offset 0 \(312 bytes missing\)$/],
      [Buffer.concat([rawEntry({ name: 'a' }, 'x'), rawEntry({ name: 'b' }, 'y').subarray(0, 300)]), /ends inside the header block at offset 1024$/],
      [Buffer.concat([Buffer.alloc(512), rawEntry({ name: 'a' }, 'x'), endOfArchive()]), /a lone zero block at offset 0/],
      [Buffer.concat([rawEntry({ name: 'a' }, 'x'), rawEntry({ name: 'b', badChecksum: true }), endOfArchive()]), /bad header checksum at offset 1024$/],
      // Data one byte short of its size: the walk takes the next header as data and lands in b's data.
      [Buffer.concat([rawEntry({ name: 'a', size: 513 }, 'x'.repeat(512)), rawEntry({ name: 'b' }, 'y'), endOfArchive()]), /bad header checksum at offset 1536$/],
    ];
    for (const [plain, message] of cases) {
      await assert.rejects(verifier.verifyLayer(layerOf(gzipSync(plain), GZIP, plain)), tarpushError('LAYER_INVALID', message));
      await assert.rejects(verifier.verifyLayer(layerOf(plain, PLAIN, plain, 'none')), tarpushError('LAYER_INVALID', message));
    }
  });

  it('reads the tar the same whatever the chunking (one byte at a time)', async () => {
    const { TarStreamCheck } = await import('../../src/image/verify-tar.js');
    const pax = await packTar([{ name: `p/${'x'.repeat(150)}`, data: 'pax' }, { name: 'q', data: 'z'.repeat(700) }]);
    const bad = Buffer.concat([pax.subarray(0, pax.length - 1024), rawEntry({ name: 'c', badChecksum: true })]);
    for (const [bytes, expected] of [[pax, undefined], [bad, `not a tar: bad header checksum at offset ${pax.length - 1024}`]] as const) {
      const check = new TarStreamCheck();
      let found: string | undefined;
      for (let i = 0; i < bytes.length && !found; i++) found = check.feed(bytes.subarray(i, i + 1));
      assert.equal(found ?? check.end(), expected);
    }
  });

  it('a wrong diff_id on a real tar is still DIFF_ID_MISMATCH', async () => {
    const g = gzipSync(tar);
    await assert.rejects(verifier.verifyLayer({ ...layerOf(g, GZIP, tar), diffId: zero }), tarpushError('DIFF_ID_MISMATCH'));
  });

  it('a file-backed layer the worker cannot decompress is still reported as its digest mismatch first', async () => {
    const g = gzipSync(await packTar([{ name: 'r', data: randomBytes(1 << 20) }]), { level: 0 });
    const file = await writeTemp(dir, 'corrupt.gz', g);
    const good = sha(g);
    g[200] ^= 0xff; // the stored digest in the manifest is the good one
    await writeTemp(dir, 'corrupt.gz', g);
    const layer: Layer = { ...layerOf(g, GZIP, g), digest: good, source: fileRangeSource(file, 0, g.length, 'corrupt.gz') };
    await assert.rejects(verifier.verifyLayer(layer), tarpushError('DIGEST_MISMATCH', /corrupt\.gz/));
  });
});

describe('what verification skips', () => {
  it('--no-verify-diff-ids: a compressed layer is not decompressed, and the result says so', async () => {
    const raw = randomBytes(4096);
    const g = gzipSync(raw);
    const ok = await verifier.verifyLayer(layerOf(g, GZIP, raw), { diffIds: false });
    assert.equal(ok.diffIdChecked, false);
    // The magic is still checked (it costs nothing).
    await assert.rejects(verifier.verifyLayer(layerOf(zstdCli(tar), GZIP, tar, 'zstd'), { diffIds: false }), tarpushError('LAYER_INVALID', /bytes are zstd/));
  });

  it('artifact layers (no diff_id declared) are not held to being tars', async () => {
    const raw = randomBytes(4096);
    const g = gzipSync(raw);
    const artifact = { ...layerOf(g, 'application/vnd.example.thing+gzip', raw), diffIdDeclared: false };
    assert.equal((await verifier.verifyLayer(artifact)).diffIdChecked, false);
  });
});

describe('every fixture archive passes', () => {
  it('verifyImage accepts the layers of every fixture', async () => {
    const root = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
    const archives = (await readdir(root)).filter((f) => f.endsWith('.tar'));
    assert.ok(archives.length >= 5);
    for (const f of archives) {
      const a = await openArchive(root + f);
      try {
        for (const im of a.images) await verifier.verifyImage(im.root);
      } finally {
        await a.close();
      }
    }
  });
});

describe('verifyImage walks an index tree once per manifest', () => {
  it('40 nested indexes that each name their child twice: verified in one visit each', { timeout: 10_000 }, async () => {
    const layerBytes = gzipSync(tar);
    const rawConfig = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
    const rawManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [sha(layerBytes)] }));
    const layer = layerOf(layerBytes, GZIP, tar);
    let reads = 0;
    const counted: Layer = { ...layer, source: { ...layer.source, open: (a, b) => (reads++, layer.source.open(a, b)) } };
    const image: Image = {
      kind: 'image', mediaType: 'application/vnd.oci.image.manifest.v1+json', rawManifest, digest: sha(rawManifest),
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(rawConfig), size: rawConfig.length }, rawConfig, layers: [counted],
    };
    let item: Image | ImageIndex = image;
    for (let i = 0; i < 40; i++) {
      const child: Image | ImageIndex = item;
      const raw: Buffer = Buffer.from(JSON.stringify({ schemaVersion: 2, level: i, children: [child.digest, child.digest] }));
      const descriptor: Descriptor = { mediaType: child.mediaType, digest: child.digest, size: child.rawManifest.length };
      item = { kind: 'index', mediaType: 'application/vnd.oci.image.index.v1+json', rawManifest: raw, digest: sha(raw), manifests: [{ descriptor, item: child }, { descriptor, item: child }] };
    }
    await verifier.verifyImage(item);
    assert.equal(reads, 1);
  });
});
