import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/open.js';
import { describeImages } from '../../src/image/describe.js';
import type { Archive } from '../../src/image/types.js';
import { packTar, tempDir, writeTemp } from '../archive/support/build-tar.js';
import { Blobs, makeConfig, makeLayer, ociImage, ociIndex, ociLayoutEntries, type LayerBlob } from '../archive/support/images.js';

let cleanup: () => Promise<void>;
let archive: Archive;
let l1: LayerBlob;
let l2: LayerBlob;
const blobs = new Blobs();
let amd: ReturnType<typeof ociImage>;
let arm: ReturnType<typeof ociImage>;
let idx: ReturnType<typeof ociIndex>;
before(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  l1 = await makeLayer({ a: '1' });
  l2 = await makeLayer({ b: '2' }, 'none');
  amd = ociImage(blobs, [l1], makeConfig([l1.diffId]), { platform: { os: 'linux', architecture: 'amd64' } });
  arm = ociImage(blobs, [l2], makeConfig([l2.diffId], { os: 'linux', architecture: 'arm64' }), { platform: { os: 'linux', architecture: 'arm64' } });
  idx = ociIndex(blobs, [amd, arm], { annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
  archive = await openArchive(await writeTemp(dir, 'd.tar', await packTar(ociLayoutEntries(blobs, [idx]))));
});
after(async () => {
  await archive.close();
  await cleanup();
});

describe('describeImages', () => {
  it('flattens an index into one description per platform image, naming the index', () => {
    const out = describeImages(archive.images[0]!.root, { repoTags: ['r/x:1'], refName: 'v1' });
    assert.equal(out.length, 2);
    assert.deepEqual(out[1], {
      repoTags: ['r/x:1'],
      refName: 'v1',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: arm.digest,
      platform: { os: 'linux', architecture: 'arm64' },
      index: { digest: idx.digest, mediaType: 'application/vnd.oci.image.index.v1+json' },
      config: { digest: (out[1]!.config.digest), size: out[1]!.config.size },
      layers: [{ digest: l2.digest, size: l2.size, mediaType: 'application/vnd.oci.image.layer.v1.tar', compression: 'none', diffId: l2.diffId }],
    });
    assert.equal(out[0]!.layers[0]!.compression, 'gzip');
    assert.equal(out[0]!.digest, amd.digest);
    // Plain JSON: no archive specifics (sources, paths) leak into it.
    assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
    assert.doesNotMatch(JSON.stringify(out), /d\.tar/);
  });

  it('describes each image once when indexes repeat or share children (first place reached, index order)', () => {
    // A hand-built DAG: top lists [inner, amd, inner], inner lists [arm, amd, arm].
    const root = archive.images[0]!.root;
    assert.equal(root.kind, 'index');
    const [amdChild, armChild] = root.kind === 'index' ? root.manifests : [];
    const inner = { kind: 'index' as const, mediaType: root.mediaType, rawManifest: Buffer.from('{}'), digest: `sha256:${'1'.repeat(64)}` as const, manifests: [armChild!, amdChild!, armChild!] };
    const innerChild = { descriptor: { mediaType: root.mediaType, digest: inner.digest, size: 2 }, item: inner };
    const top = { ...inner, digest: `sha256:${'2'.repeat(64)}` as const, manifests: [innerChild, amdChild!, innerChild] };
    const out = describeImages(top, { repoTags: [] });
    assert.deepEqual(
      out.map((d) => d.digest),
      [arm.digest, amd.digest],
    );
    assert.ok(out.every((d) => d.index?.digest === top.digest));
  });
});
