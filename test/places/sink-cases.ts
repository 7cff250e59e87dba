/**
 * The sink conformance cases: what every place that receives images must do, run against
 * each sink by sink-conformance.test.ts. A sink that differs where the formats differ says
 * so in its capabilities (the suite's table), and the cases check exactly that behaviour.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { sha256, type Digest } from '../../src/image/digest.js';
import type { ImageSink } from '../../src/image/sink.js';
import { bufferSource } from '../../src/image/sources.js';
import type { ByteSource } from '../../src/image/types.js';
import { makeTinyImage, type TinyImage } from '../support/tiny-image.js';

/** What a reader of the place finds under a tag: the manifest and every blob it names. */
export interface ReadBack {
  digest: Digest;
  raw: Buffer;
  config: Buffer;
  layers: Buffer[];
}

export interface SinkUnderTest {
  sink: ImageSink;
  /** After the writes (and close() where the place has a commit step): what its reader finds under `tag`. */
  readBack(tag: string): Promise<ReadBack>;
  /** How many images (tag entries) a reader finds in the whole place, where that is countable. */
  imageCount?(): Promise<number>;
  /** Whether anything is under the place's final name (commit places). */
  committed?(): Promise<boolean>;
  /** Files the place left beside its final name besides it (temp files, spools). */
  leftovers?(): Promise<string[]>;
}

export interface SinkKind {
  name: string;
  /**
   * A manifest put before its blobs: `refused` by putManifest (and not stored under the tag),
   * `at-close` (put accepted, the commit step refuses the place and leaves nothing), or
   * `accepted` (the place keeps manifests as files and checks nothing: the publisher's
   * order is what keeps it whole).
   */
  manifestBeforeBlobs: 'refused' | 'at-close' | 'accepted';
  /** Nothing exists under the final name until close(); abort() leaves nothing. */
  commit: boolean;
  /** A failed blob put breaks the place (a tar stream cannot take the entry back): close() then refuses it. */
  failedPutPoisons: boolean;
  /** Codes a refused blob put may carry (a registry words the refusal its own way). */
  refusalCodes: readonly string[];
  /** A new, empty place, opened as a sink. `dir` is a fresh temp directory for it. */
  open(dir: string): Promise<SinkUnderTest>;
  /** A fresh temp directory (removed by the suite's owner). */
  tempDir(): Promise<string>;
}

/** A source whose bytes are `data` but that claims `size`. */
function lyingSource(data: Buffer, size: number): ByteSource {
  return { size, location: 'test source', open: () => Readable.from([data]) };
}

async function putImageBlobs(sink: ImageSink, img: TinyImage): Promise<void> {
  for (const b of [img.config, ...img.layers]) await sink.putBlob(b.digest as Digest, bufferSource(b.data, `blob ${b.digest}`));
}

async function finish(t: SinkUnderTest, kind: SinkKind): Promise<void> {
  if (kind.commit) await t.sink.close!();
}

export function sinkConformance(kind: SinkKind): void {
  describe(`sink conformance: ${kind.name}`, () => {
    const image = async (seed = kind.name) => makeTinyImage(await kind.tempDir(), { seed, tag: 'v1' });
    const openNew = async () => kind.open(await kind.tempDir());
    const refused = (e: unknown) => {
      if (!(isTarpushError(e) && kind.refusalCodes.includes(e.code))) throw e;
      return true;
    };

    it('refuses a blob whose bytes do not hash to its digest, and stores nothing', async () => {
      const t = await openNew();
      const data = Buffer.from(`blob for ${kind.name}\n`);
      const claimed = sha256(Buffer.from('other bytes'));
      await assert.rejects(t.sink.putBlob(claimed, bufferSource(data, 'test source')), refused);
      assert.equal(await t.sink.hasBlob(claimed, data.length), false, 'the claimed digest is not stored');
      assert.equal(await t.sink.hasBlob(sha256(data), data.length), false, 'nor are the bytes under their own digest');
      await t.sink.abort?.();
    });

    it('refuses a blob whose size is not what its source claims, and stores nothing', async () => {
      const t = await openNew();
      const data = Buffer.from(`sized blob for ${kind.name}\n`);
      await assert.rejects(t.sink.putBlob(sha256(data), lyingSource(data, data.length + 7)), refused);
      assert.equal(await t.sink.hasBlob(sha256(data)), false);
      await t.sink.abort?.();
    });

    it('holds a blob once it is put: with its size, not with another', async () => {
      const t = await openNew();
      const data = Buffer.from(`present blob for ${kind.name}\n`);
      const d = sha256(data);
      assert.equal(await t.sink.hasBlob(d, data.length), false);
      await t.sink.putBlob(d, bufferSource(data, 'test'));
      assert.equal(await t.sink.hasBlob(d, data.length), true);
      assert.equal(await t.sink.hasBlob(d, data.length + 1), false, 'a wrong expected size is not "present"');
      await t.sink.abort?.();
    });

    it(`a manifest put before its blobs: ${kind.manifestBeforeBlobs}`, async () => {
      const img = await image();
      const t = await openNew();
      const put = t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType);
      if (kind.manifestBeforeBlobs === 'refused') {
        await assert.rejects(put, (e: unknown) => isTarpushError(e) && /MANIFEST_BLOB_UNKNOWN|blob unknown/i.test(e.toLine()));
        if (t.sink.headManifest) assert.equal(await t.sink.headManifest('v1'), undefined, 'the tag was not written');
        return;
      }
      assert.equal(await put, img.manifest.digest);
      if (kind.manifestBeforeBlobs === 'at-close') {
        await assert.rejects(t.sink.close!(), (e: unknown) => isTarpushError(e, 'ARCHIVE_ENTRY_MISSING'));
        assert.equal(await t.committed!(), false, 'nothing under the final name');
        assert.deepEqual(await t.leftovers!(), []);
        return;
      }
      // accepted: the blobs can still come, and the place is then whole.
      await putImageBlobs(t.sink, img);
      assert.equal((await t.readBack('v1')).digest, img.manifest.digest);
    });

    it('tags: every tag names the manifest, and a tag can move', async () => {
      const a = await image('tags-a');
      const b = await image('tags-b');
      const t = await openNew();
      for (const img of [a, b]) {
        await putImageBlobs(t.sink, img);
        assert.equal(await t.sink.putManifest(img.manifest.digest, img.manifest.data, img.manifestMediaType), img.manifest.digest);
      }
      for (const tag of ['v1', 'v2', 'moved']) await t.sink.putManifest(tag, a.manifest.data, a.manifestMediaType);
      await t.sink.putManifest('moved', b.manifest.data, b.manifestMediaType);
      if (t.sink.headManifest) assert.equal((await t.sink.headManifest('v2'))?.digest, a.manifest.digest);
      await finish(t, kind);
      assert.equal((await t.readBack('v1')).digest, a.manifest.digest);
      assert.equal((await t.readBack('v2')).digest, a.manifest.digest);
      assert.equal((await t.readBack('moved')).digest, b.manifest.digest);
    });

    it('refuses a manifest put under a digest its bytes do not have', async () => {
      const img = await image();
      const t = await openNew();
      await putImageBlobs(t.sink, img);
      const other = sha256(Buffer.from('not the manifest'));
      await assert.rejects(t.sink.putManifest(other, img.manifest.data, img.manifestMediaType), (e: unknown) => isTarpushError(e) && /DIGEST|digest/.test(e.toLine()));
      await t.sink.abort?.();
    });

    it('puts again what it holds without harm: same digest, one image', async () => {
      const img = await image();
      const t = await openNew();
      for (let i = 0; i < 2; i++) {
        await putImageBlobs(t.sink, img);
        assert.equal(await t.sink.putManifest(img.manifest.digest, img.manifest.data, img.manifestMediaType), img.manifest.digest);
        assert.equal(await t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType), img.manifest.digest);
      }
      await finish(t, kind);
      assert.equal((await t.readBack('v1')).digest, img.manifest.digest);
      if (t.imageCount) assert.equal(await t.imageCount(), 1);
    });

    it('reads back what was written: the manifest byte for byte, the config and every layer', async () => {
      const img = await makeTinyImage(await kind.tempDir(), { seed: 'round trip', tag: 'v1', layers: [{ 'a.txt': 'one\n' }, { 'b.txt': 'two\n' }] });
      const t = await openNew();
      await putImageBlobs(t.sink, img);
      await t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType);
      await finish(t, kind);
      const back = await t.readBack('v1');
      assert.equal(back.digest, img.manifest.digest);
      assert.deepEqual(back.raw, img.manifest.data);
      assert.deepEqual(back.config, img.config.data);
      assert.deepEqual(back.layers, img.layers.map((l) => l.data));
    });

    if (kind.commit) {
      it('close() commits: nothing under the final name before, the place after, no temp file left', async () => {
        const img = await image();
        const t = await openNew();
        await putImageBlobs(t.sink, img);
        await t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType);
        assert.equal(await t.committed!(), false);
        await t.sink.close!();
        assert.equal(await t.committed!(), true);
        assert.deepEqual(await t.leftovers!(), []);
      });

      it('abort() leaves nothing under the final name, and nothing beside it; twice is fine', async () => {
        const img = await image();
        const t = await openNew();
        await putImageBlobs(t.sink, img);
        await t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType);
        await t.sink.abort!();
        await t.sink.abort!();
        assert.equal(await t.committed!(), false);
        assert.deepEqual(await t.leftovers!(), []);
      });

    }

    if (kind.commit && kind.failedPutPoisons) {
      it('a failed blob put poisons the place: close() refuses it and leaves nothing', async () => {
        const img = await image();
        const t = await openNew();
        await putImageBlobs(t.sink, img);
        const data = Buffer.from('bad');
        await assert.rejects(t.sink.putBlob(sha256(Buffer.from('good')), bufferSource(data, 'test')), refused);
        await t.sink.putManifest('v1', img.manifest.data, img.manifestMediaType).catch(() => {});
        await assert.rejects(t.sink.close!());
        assert.equal(await t.committed!(), false);
        assert.deepEqual(await t.leftovers!(), []);
      });
    }
  });
}
