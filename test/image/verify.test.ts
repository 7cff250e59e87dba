import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open as openFile, readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openArchive } from '../../src/archive/open.js';
import type { Digest } from '../../src/image/digest.js';
import { bufferSource, fileRangeSource } from '../../src/image/sources.js';
import type { Image, Layer } from '../../src/image/types.js';
import { LayerVerifier, verifyImage, verifyLayer } from '../../src/image/verify.js';
import { packTar, tempDir, writeTemp } from '../archive/support/build-tar.js';
import { tarpushError } from '../archive/support/assert-error.js';
import { Blobs, kanikoEntries, makeConfig, makeLayer, ociImage, ociIndex, ociLayoutEntries, sha, type LayerBlob } from '../archive/support/images.js';

let dir: string;
let cleanup: () => Promise<void>;
let gz: LayerBlob;
let plain: LayerBlob;
const verifier = new LayerVerifier();
before(async () => {
  ({ dir, cleanup } = await tempDir());
  gz = await makeLayer({ 'a/b': 'hello world\n'.repeat(1000) });
  plain = await makeLayer({ 'c/d': 'plain' }, 'none');
});
after(async () => {
  await verifier.close();
  await cleanup();
});

function memLayer(blob: LayerBlob, over: Partial<Layer> = {}): Layer {
  return {
    digest: blob.digest,
    size: blob.size,
    mediaType: blob.compression === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    compression: blob.compression,
    diffId: blob.diffId,
    source: bufferSource(blob.stored, `mem!${blob.digest.slice(7, 19)}`),
    ...over,
  };
}

const zero: Digest = `sha256:${'0'.repeat(64)}`;

describe('verifyLayer', () => {
  it('accepts good gzip and uncompressed layers', async () => {
    await verifyLayer(memLayer(gz));
    await verifyLayer(memLayer(plain));
  });

  it('DIGEST_MISMATCH names the location and both digests', async () => {
    const bad = Buffer.from(gz.stored);
    bad[bad.length - 20] ^= 0xff;
    const layer = memLayer(gz, { source: bufferSource(bad, 'img.tar!layer.tar.gz') });
    await assert.rejects(verifyLayer(layer), tarpushError('DIGEST_MISMATCH', /img\.tar!layer\.tar\.gz/, new RegExp(gz.digest), new RegExp(sha(bad))));
  });

  it('DIFF_ID_MISMATCH for gzip (worker) and uncompressed layers', async () => {
    await assert.rejects(verifyLayer(memLayer(gz, { diffId: zero })), tarpushError('DIFF_ID_MISMATCH', new RegExp(zero), new RegExp(gz.diffId)));
    await assert.rejects(verifyLayer(memLayer(plain, { diffId: zero })), tarpushError('DIFF_ID_MISMATCH', new RegExp(zero)));
  });

  it('SIZE_MISMATCH when the layer claims another size than its bytes', async () => {
    const short = bufferSource(gz.stored.subarray(0, gz.size - 1), 'mem!short');
    await assert.rejects(verifyLayer(memLayer(gz, { source: short })), tarpushError('SIZE_MISMATCH', /mem!short/));
  });

  it('reports gzip bytes that do not decompress as LAYER_INVALID, not as a diff_id mismatch', async () => {
    const broken = Buffer.concat([gz.stored.subarray(0, 10), Buffer.alloc(100, 0xaa)]);
    const layer = memLayer(gz, { digest: sha(broken), size: broken.length, source: bufferSource(broken, 'mem!broken') });
    await assert.rejects(verifyLayer(layer), tarpushError('LAYER_INVALID', new RegExp(`layer ${sha(broken)} \\(mem!broken\\): cannot decompress the gzip bytes`)));
  });

  it('checks only the stored digest of zstd layers', async () => {
    const bytes = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(64)]);
    await verifyLayer({ digest: sha(bytes), size: bytes.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', compression: 'zstd', diffId: zero, source: bufferSource(bytes, 'z') });
  });

  it('keeps memory bounded on a layer bigger than the worker queue', async () => {
    // Stored (level 0) gzip of a tar of random bytes: as large compressed as uncompressed, cheap to make.
    const raw = await packTar([{ name: 'random.bin', data: randomBytes(24 * 1024 * 1024) }]);
    const big = gzipSync(raw, { level: 0 });
    const file = await writeTemp(dir, 'big.gz', big);
    const source = fileRangeSource(file, 0, big.length, 'big.gz'); // streams 1 MiB chunks
    const layer: Layer = { digest: sha(big), size: big.length, mediaType: 'x+gzip', compression: 'gzip', diffId: sha(raw), source };
    await verifyLayer(layer);
  });
});

describe('verifyingSource', () => {
  it('errors the stream being read and rejects `verified` when the stored digest is wrong', async () => {
    const { source, verified } = verifier.verifyingSource(memLayer(gz, { digest: zero }));
    await assert.rejects(buffer(source.open()), tarpushError('DIGEST_MISMATCH'));
    await assert.rejects(verified, tarpushError('DIGEST_MISMATCH'));
  });

  it('lets the stream end at wire speed and rejects `verified` when only the diff_id is wrong', async () => {
    // The upload may commit a blob whose bytes match their digest; no manifest is written
    // until `verified` settles, so a wrong diff_id still publishes nothing.
    const { source, verified } = verifier.verifyingSource(memLayer(gz, { diffId: zero }));
    assert.deepEqual(await buffer(source.open()), gz.stored);
    await assert.rejects(verified, tarpushError('DIFF_ID_MISMATCH'));
  });

  it('passes partial reads through unchecked and resolves after the first full read', async () => {
    const { source, verified } = verifier.verifyingSource(memLayer(gz));
    assert.equal(source.size, gz.size);
    assert.deepEqual(await buffer(source.open(5, 50)), gz.stored.subarray(5, 50));
    let settled = false;
    void verified.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    assert.deepEqual(await buffer(source.open()), gz.stored);
    await verified;
    assert.deepEqual(await buffer(source.open()), gz.stored); // later full reads just stream
  });

  it('a full read aborted half-way leaves `verified` pending and does not leak a worker job', async () => {
    const { source, verified } = verifier.verifyingSource(memLayer(gz));
    const s = source.open();
    s.destroy();
    let settled = false;
    void verified.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false);
    await buffer(source.open());
    await verified;
  });
});

describe('worker lifetime', () => {
  it('a full read left unconsumed (never destroyed) does not keep the process alive', async () => {
    const stored = gzipSync(randomBytes(3 << 20), { level: 0 });
    const file = await writeTemp(dir, 'idle.gz', stored);
    const verifyJs = new URL('../../src/image/verify.js', import.meta.url).href;
    const sourcesJs = new URL('../../src/image/sources.js', import.meta.url).href;
    const script = `
      const { LayerVerifier } = await import(${JSON.stringify(verifyJs)});
      const { fileRangeSource } = await import(${JSON.stringify(sourcesJs)});
      const source = fileRangeSource(${JSON.stringify(file)}, 0, ${stored.length}, 'idle');
      const layer = { digest: ${JSON.stringify(sha(stored))}, size: ${stored.length}, mediaType: 'x+gzip', compression: 'gzip', diffId: ${JSON.stringify(zero)}, source };
      const s = new LayerVerifier().verifyingSource(layer).source.open();
      s.once('readable', () => { s.read(1); console.log('started'); });
    `;
    const scriptFile = await writeTemp(dir, 'idle.mjs', Buffer.from(script));
    const { execFile } = await import('node:child_process');
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [scriptFile], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    assert.match(out, /started/);
    assert.ok(performance.now() - t0 < 5000);
  });
});

describe('verifyImage on archives', () => {
  it('finds a corrupted byte in a kaniko tarball and a wrong diff_id', async () => {
    const config = makeConfig([gz.diffId, plain.diffId]);
    const file = await writeTemp(dir, 'k.tar', await packTar(kanikoEntries([{ tags: [], layers: [gz, plain], config }])));
    const archive = await openArchive(file);
    const img = archive.images[0]!.root as Image;
    await verifyImage(img);
    // Flip one byte inside the first layer's data in the tar file.
    const offset = await findOffset(file, gz.stored);
    const fh = await openFile(file, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset + 100);
    b[0] ^= 0x01;
    await fh.write(b, 0, 1, offset + 100);
    await fh.close();
    await assert.rejects(verifyImage(img), tarpushError('DIGEST_MISMATCH', /k\.tar!/, new RegExp(gz.digest)));

    const wrong = makeConfig([gz.diffId, zero]);
    const f2 = await writeTemp(dir, 'k2.tar', await packTar(kanikoEntries([{ tags: [], layers: [gz, plain], config: wrong }])));
    const a2 = await openArchive(f2);
    // Uncompressed layer: its digest is what the manifest names (from its name); the diff_id check fails.
    await assert.rejects(verifyImage(a2.images[0]!.root), tarpushError('DIFF_ID_MISMATCH', new RegExp(zero)));
  });

  it('verifies every image of an index', async () => {
    const blobs = new Blobs();
    const a = ociImage(blobs, [gz], makeConfig([gz.diffId]), { platform: { os: 'linux', architecture: 'amd64' } });
    const b = ociImage(blobs, [plain], makeConfig([zero]), { platform: { os: 'linux', architecture: 'arm64' } });
    const idx = ociIndex(blobs, [a, b]);
    const archive = await openArchive(await writeTemp(dir, 'i.tar', await packTar(ociLayoutEntries(blobs, [idx]))));
    await assert.rejects(verifyImage(archive.images[0]!.root), tarpushError('DIFF_ID_MISMATCH', /blobs\/sha256/));
  });
});

async function findOffset(file: string, needle: Buffer): Promise<number> {
  const i = (await readFile(file)).indexOf(needle);
  assert.ok(i > 0);
  return i;
}
