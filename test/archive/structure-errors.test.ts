import assert from 'node:assert/strict';
import { rename, rm, symlink } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/open.js';
import { packTar, tempDir, writeTemp, type TarSpec } from './support/build-tar.js';
import { tarpushError } from './support/assert-error.js';
import { Blobs, hex, kanikoEntries, makeConfig, makeLayer, OCI, ociImage, ociIndex, ociLayoutEntries, sha, writeTree, type LayerBlob } from './support/images.js';

/** Every structural problem is found when the archive is opened, named by file and entry. */

let dir: string;
let cleanup: () => Promise<void>;
let l1: LayerBlob;
let l2: LayerBlob;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  l1 = await makeLayer({ a: '1' });
  l2 = await makeLayer({ b: '2' });
});
after(() => cleanup());

let n = 0;
const open = async (entries: TarSpec[]) => openArchive(await writeTemp(dir, `e${n++}.tar`, await packTar(entries)));
const replace = (entries: TarSpec[], name: string, data: Buffer | string): TarSpec[] => entries.map((e) => (e.name === name ? { ...e, data } : e));
const without = (entries: TarSpec[], name: string): TarSpec[] => entries.filter((e) => e.name !== name);

describe('structural errors', () => {
  const kaniko = () => kanikoEntries([{ tags: ['t:1'], layers: [l1, l2], config: makeConfig([l1.diffId, l2.diffId]) }]);

  it('ARCHIVE_ENTRY_MISSING names the archive and the missing layer', async () => {
    const file = `e${n}.tar`;
    await assert.rejects(open(without(kaniko(), `${hex(l2.digest)}.tar.gz`)), tarpushError('ARCHIVE_ENTRY_MISSING', new RegExp(file), new RegExp(`${hex(l2.digest)}\\.tar\\.gz`)));
    await assert.rejects(open(without(kaniko(), sha(makeConfig([l1.diffId, l2.diffId])))), tarpushError('ARCHIVE_ENTRY_MISSING', /config/));
  });

  it('MANIFEST_INVALID for bad JSON, wrong types (naming the field) and an empty image list', async () => {
    await assert.rejects(open(replace(kaniko(), 'manifest.json', '[{')), tarpushError('MANIFEST_INVALID', /manifest\.json.*not valid JSON/));
    const wrong = JSON.stringify([{ Config: `sha256:${'a'.repeat(64)}`, RepoTags: [], Layers: 'x.tar.gz' }]);
    await assert.rejects(open(replace(kaniko(), 'manifest.json', wrong)), tarpushError('MANIFEST_INVALID', /manifest\.json.*\[0\]\.Layers must be an array/));
    await assert.rejects(open(replace(kaniko(), 'manifest.json', '[]')), tarpushError('ARCHIVE_EMPTY', /lists no images/));
  });

  it('CONFIG_INVALID names the config entry and field', async () => {
    const bad = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [l1.diffId, 'md5:abc'] } }));
    const entries = kanikoEntries([{ tags: [], layers: [l1, l2], config: bad }]);
    await assert.rejects(open(entries), tarpushError('CONFIG_INVALID', new RegExp(`${sha(bad)}`), /rootfs\.diff_ids\[1\]/));
    const notArray = Buffer.from(JSON.stringify({ rootfs: { diff_ids: 'x' } }));
    await assert.rejects(open(kanikoEntries([{ tags: [], layers: [l1], config: notArray }])), tarpushError('CONFIG_INVALID', /rootfs\.diff_ids must be an array/));
  });

  it('LAYER_COUNT_MISMATCH and IMAGE_NO_LAYERS', async () => {
    await assert.rejects(open(kanikoEntries([{ tags: [], layers: [l1, l2], config: makeConfig([l1.diffId]) }])), tarpushError('LAYER_COUNT_MISMATCH', /2 layer\(s\).*lists 1/));
    await assert.rejects(open(kanikoEntries([{ tags: [], layers: [], config: makeConfig([]) }])), tarpushError('IMAGE_NO_LAYERS', /manifest\.json\[0\]/));
  });

  it('DIGEST_MISMATCH when a config named by digest holds other bytes', async () => {
    const config = makeConfig([l1.diffId]);
    const entries = replace(kanikoEntries([{ tags: [], layers: [l1], config }]), sha(config), makeConfig([l1.diffId], { os: 'linux', architecture: 'arm64' }));
    await assert.rejects(open(entries), tarpushError('DIGEST_MISMATCH', new RegExp(sha(config))));
  });

  it('ARCHIVE_ENTRY_UNSAFE when manifest.json names an entry outside the archive', async () => {
    const entries = kanikoEntries([{ tags: [], layers: [l1], config: makeConfig([l1.diffId]) }]);
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data as string);
    manifest[0].Layers = ['../../etc/passwd'];
    await assert.rejects(open(replace(entries, 'manifest.json', JSON.stringify(manifest))), tarpushError('ARCHIVE_ENTRY_UNSAFE', /\.\.\/\.\.\/etc\/passwd/));
  });

  it('ARCHIVE_FORMAT_UNKNOWN for a tar that is no image archive', async () => {
    await assert.rejects(open([{ name: 'hello.txt', data: 'hi' }]), tarpushError('ARCHIVE_FORMAT_UNKNOWN', /hello\.txt/));
  });

  describe('OCI layouts', () => {
    const layout = (mutate?: (blobs: Blobs) => void) => {
      const blobs = new Blobs();
      const m = ociImage(blobs, [l1], makeConfig([l1.diffId]));
      mutate?.(blobs);
      return { entries: ociLayoutEntries(blobs, [m]), m, blobs };
    };

    it('DIGEST_MISMATCH names the blob and both digests', async () => {
      const { entries, m } = layout();
      const name = `blobs/sha256/${hex(m.digest)}`;
      const tampered = Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }).padEnd(m.size));
      const actual = sha(tampered);
      await assert.rejects(open(replace(entries, name, tampered)), tarpushError('DIGEST_MISMATCH', new RegExp(name), new RegExp(m.digest), new RegExp(actual)));
    });

    it('SIZE_MISMATCH when a descriptor size differs from the blob', async () => {
      const blobs = new Blobs();
      const cfg = blobs.add(makeConfig([l1.diffId]), OCI.config);
      const layer = blobs.add(l1.stored, OCI.layerGzip);
      const m = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: cfg, layers: [{ ...layer, size: layer.size + 1 }] })), OCI.manifest);
      await assert.rejects(open(ociLayoutEntries(blobs, [m])), tarpushError('SIZE_MISMATCH', new RegExp(hex(layer.digest)), new RegExp(`${layer.size + 1}`)));
    });

    it('MEDIA_TYPE_UNKNOWN for an unknown layer type beside filesystem layers; all-unknown layers make an artifact', async () => {
      const blobs = new Blobs();
      const cfg = blobs.add(makeConfig([l1.diffId, l2.diffId]), OCI.config);
      const fs = blobs.add(l1.stored, OCI.layerGzip);
      const odd = blobs.add(l2.stored, 'application/x-unknown-layer');
      const mixed = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: cfg, layers: [fs, odd] })), OCI.manifest);
      await assert.rejects(open(ociLayoutEntries(blobs, [mixed])), tarpushError('MEDIA_TYPE_UNKNOWN', /application\/x-unknown-layer/));
      // cosign signatures: an image config, and no layer a runtime would unpack.
      const cfg1 = blobs.add(makeConfig([l1.diffId]), OCI.config);
      const sig = blobs.add(Buffer.from('{"critical":{}}'), 'application/vnd.dev.cosign.simplesigning.v1+json');
      const signature = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: cfg1, layers: [sig] })), OCI.manifest);
      const a = await open(ociLayoutEntries(blobs, [signature]));
      assert.equal(a.images[0]!.root.kind, 'artifact');
      await a.close();
    });

    it('MEDIA_TYPE_UNKNOWN for a descriptor of an unknown type whose document does not say it is a manifest', async () => {
      const blobs = new Blobs();
      const cfg = blobs.add(makeConfig([l1.diffId]), OCI.config);
      const layer = blobs.add(l1.stored, OCI.layerGzip);
      const bare = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfg, layers: [layer] })), 'application/x-not-a-manifest');
      await assert.rejects(open(ociLayoutEntries(blobs, [bare])), tarpushError('MEDIA_TYPE_UNKNOWN', /application\/x-not-a-manifest/));
      // The same descriptor type over a document that says what it is: read as the document says, with a note.
      const m = ociImage(blobs, [l1], makeConfig([l1.diffId]));
      const notes: string[] = [];
      const a = await openArchive(await writeTemp(dir, `e${n++}.tar`, await packTar(ociLayoutEntries(blobs, [{ ...m, mediaType: 'application/x-not-a-manifest' }]))), {
        onNote: (s) => notes.push(s),
      });
      assert.equal(a.images[0]!.root.mediaType, OCI.manifest);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /descriptor says media type "application\/x-not-a-manifest", the manifest says "application\/vnd\.oci\.image\.manifest\.v1\+json"/);
      await a.close();
    });

    it('MANIFEST_INVALID for an empty index.json and a malformed digest', async () => {
      const { entries } = layout();
      await assert.rejects(open(replace(entries, 'index.json', JSON.stringify({ schemaVersion: 2, manifests: [] }))), tarpushError('ARCHIVE_EMPTY', /lists no images/));
      const badDigest = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI.manifest, size: 1, digest: 'sha256:xyz' }] });
      await assert.rejects(open(replace(entries, 'index.json', badDigest)), tarpushError('MANIFEST_INVALID', /manifests\[0\]\.digest/));
      const sha512 = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI.manifest, size: 1, digest: `sha512:${'a'.repeat(128)}` }] });
      await assert.rejects(open(replace(entries, 'index.json', sha512)), tarpushError('MANIFEST_INVALID', /unsupported digest algorithm/));
    });

    it('an index child left out of the archive is not carried; an entry point or a carried layer left out is ARCHIVE_ENTRY_MISSING', async () => {
      const blobs = new Blobs();
      const amd = ociImage(blobs, [l1], makeConfig([l1.diffId]), { platform: { os: 'linux', architecture: 'amd64' } });
      const gone = { ...amd, digest: sha('gone'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
      const idx = ociIndex(blobs, [amd, gone]);
      const a = await open(ociLayoutEntries(blobs, [idx]));
      const root = a.images[0]!.root;
      assert.equal(root.kind, 'index');
      if (root.kind === 'index') {
        assert.deepEqual(root.manifests.map((c) => c.item?.digest), [amd.digest, undefined]);
        assert.deepEqual(root.manifests[1]!.descriptor, gone, 'the descriptor is kept as listed');
      }
      await a.close();
      await assert.rejects(open(ociLayoutEntries(blobs, [gone])), tarpushError('ARCHIVE_ENTRY_MISSING', new RegExp(sha('gone'))));
      const withoutLayer = ociLayoutEntries(blobs, [idx]).filter((e) => e.name !== `blobs/sha256/${hex(l1.digest)}`);
      await assert.rejects(open(withoutLayer), tarpushError('ARCHIVE_ENTRY_MISSING', new RegExp(hex(l1.digest))));
      // A child of an unknown media type is still refused when absent: nothing says what it was.
      const unknown = ociIndex(blobs, [amd, { ...gone, mediaType: 'application/x-thing' }]);
      await assert.rejects(open(ociLayoutEntries(blobs, [unknown])), tarpushError('MEDIA_TYPE_UNKNOWN', /application\/x-thing/));
    });

    it('ARCHIVE_ENTRY_UNSAFE for a layout directory blob that links outside the directory', async () => {
      const { entries, m } = layout();
      const root = `${dir}/layout-${n++}`;
      await writeTree(root, entries);
      const blob = `${root}/blobs/sha256/${hex(m.digest)}`;
      await rename(blob, `${dir}/outside-${n}.json`);
      await symlink(`../../../outside-${n}.json`, blob);
      await assert.rejects(openArchive(root), tarpushError('ARCHIVE_ENTRY_UNSAFE', new RegExp(hex(m.digest)), /outside the layout directory/));
      // A link that stays inside is followed.
      await rm(blob);
      await rename(`${dir}/outside-${n}.json`, `${root}/blobs/manifest.json`);
      await symlink('../manifest.json', blob);
      assert.equal((await openArchive(root)).images[0]!.root.digest, m.digest);
    });

    it('LAYOUT_INVALID for an unsupported oci-layout version', async () => {
      const { entries } = layout();
      await assert.rejects(open(replace(entries, 'oci-layout', '{"imageLayoutVersion":"2.0.0"}')), tarpushError('LAYOUT_INVALID', /2\.0\.0/));
    });

    it('ARCHIVE_TOO_LARGE for a config blob over 16 MiB', async () => {
      const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
      const blobs = new Blobs();
      const cfg = blobs.add(big, OCI.config);
      const layer = blobs.add(l1.stored, OCI.layerGzip);
      const m = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: cfg, layers: [layer] })), OCI.manifest);
      await assert.rejects(open(ociLayoutEntries(blobs, [m])), tarpushError('ARCHIVE_TOO_LARGE', /config/, /16777216/));
    });
  });
});
