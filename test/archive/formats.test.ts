import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openArchive } from '../../src/archive/open.js';
import type { Archive, Image, ImageIndex } from '../../src/image/types.js';
import { packTar, tempDir, writeTemp } from './support/build-tar.js';
import {
  Blobs,
  dockerSaveEntries,
  kanikoEntries,
  makeConfig,
  makeLayer,
  ociImage,
  ociIndex,
  ociLayoutEntries,
  sha,
  writeTree,
  type LayerBlob,
} from './support/images.js';

let dir: string;
let cleanup: () => Promise<void>;
let l1: LayerBlob;
let l2: LayerBlob;
let u1: LayerBlob;
let u2: LayerBlob;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  l1 = await makeLayer({ 'etc/os-release': 'ID=test\n', 'bin/sh': '#!fake' });
  l2 = await makeLayer({ 'app/main.js': 'console.log(1)\n' });
  u1 = await makeLayer({ 'etc/os-release': 'ID=test\n' }, 'none');
  u2 = await makeLayer({ 'app/x': 'y' }, 'none');
});
after(() => cleanup());

let n = 0;
const archiveFile = async (data: Buffer, name = `a${n++}.tar`) => writeTemp(dir, name, data);
const asImage = (a: Archive, i = 0): Image => {
  const root = a.images[i]!.root;
  assert.equal(root.kind, 'image');
  return root as Image;
};
const readAll = async (img: Image, i: number) => buffer(img.layers[i]!.source.open());

describe('kaniko / go-containerregistry tarball', () => {
  it('builds the manifest go-containerregistry computes, byte for byte', async () => {
    const config = makeConfig([l1.diffId, l2.diffId]);
    const file = await archiveFile(await packTar(kanikoEntries([{ tags: ['registry.example/app:1.0'], layers: [l1, l2], config }])));
    const archive = await openArchive(file);
    assert.equal(archive.format, 'kaniko');
    assert.equal(archive.gzipped, false);
    assert.deepEqual(archive.images[0]!.repoTags, ['registry.example/app:1.0']);
    const img = asImage(archive);
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",' +
      `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":${config.length},"digest":"${sha(config)}"},` +
      '"layers":[' +
      `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":${l1.size},"digest":"${l1.digest}"},` +
      `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":${l2.size},"digest":"${l2.digest}"}` +
      ']}';
    assert.equal(img.rawManifest.toString(), expected);
    assert.equal(img.digest, sha(expected));
    assert.equal(img.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(img.rawConfig, config);
    assert.deepEqual(img.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(
      img.layers.map((l) => [l.digest, l.diffId, l.compression, l.size]),
      [
        [l1.digest, l1.diffId, 'gzip', l1.size],
        [l2.digest, l2.diffId, 'gzip', l2.size],
      ],
    );
    assert.deepEqual(await readAll(img, 1), l2.stored);
    assert.match(img.layers[0]!.source.location, new RegExp(`!${l1.digest.slice(7)}\\.tar\\.gz$`));
    await archive.close();
  });

  it('uses LayerSources descriptors verbatim for foreign layers (Go field order and escaping)', async () => {
    const config = makeConfig([l1.diffId, l2.diffId]);
    const foreign = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      size: l1.size,
      digest: l1.digest,
      urls: ['https://example.com/layer?a=1&b=<2>'],
      annotations: { zeta: 'z', alpha: 'a' },
    };
    const file = await archiveFile(await packTar(kanikoEntries([{ tags: [], layers: [l1, l2], config, layerSources: { [l1.diffId]: foreign } }])));
    const archive = await openArchive(file);
    const img = asImage(archive);
    const raw = img.rawManifest.toString();
    const foreignJson =
      `{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","size":${l1.size},"digest":"${l1.digest}",` +
      '"urls":["https://example.com/layer?a=1\\u0026b=\\u003c2\\u003e"],"annotations":{"alpha":"a","zeta":"z"}}';
    assert.ok(raw.includes(`"layers":[${foreignJson},`), raw);
    assert.equal(img.layers[0]!.mediaType, foreign.mediaType);
    assert.deepEqual(img.layers[0]!.urls, foreign.urls);
    assert.deepEqual(archive.images[0]!.repoTags, []);
  });
});

describe('docker save (before Docker 25)', () => {
  it('reads uncompressed layers: digest = diff_id, uncompressed Docker media type', async () => {
    const config = makeConfig([u1.diffId, u2.diffId]);
    const file = await archiveFile(await packTar(dockerSaveEntries([{ tags: ['alpine:3'], layers: [u1, u2], config }])));
    const archive = await openArchive(file);
    assert.equal(archive.format, 'docker-save');
    const img = asImage(archive);
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",' +
      `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":${config.length},"digest":"${sha(config)}"},` +
      '"layers":[' +
      `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","size":${u1.size},"digest":"${u1.diffId}"},` +
      `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","size":${u2.size},"digest":"${u2.diffId}"}` +
      ']}';
    assert.equal(img.rawManifest.toString(), expected);
    assert.deepEqual(
      img.layers.map((l) => l.compression),
      ['none', 'none'],
    );
    assert.deepEqual(await readAll(img, 0), u1.stored);
  });

  it('follows the <id>/layer.tar symlinks skopeo writes', async () => {
    const config = makeConfig([u1.diffId, u2.diffId]);
    const file = await archiveFile(await packTar(dockerSaveEntries([{ tags: ['localhost/app:v1'], layers: [u1, u2], config }], { skopeo: true })));
    const archive = await openArchive(file);
    assert.equal(archive.format, 'docker-save');
    const img = asImage(archive);
    assert.deepEqual(await readAll(img, 1), u2.stored);
    assert.equal(img.layers[1]!.digest, u2.diffId);
    assert.match(img.layers[1]!.source.location, /\/layer\.tar$/);
  });

  it('hashes a gzip layer whose name does not carry its digest', async () => {
    const config = makeConfig([u1.diffId, l2.diffId]);
    const file = await archiveFile(await packTar(dockerSaveEntries([{ tags: [], layers: [u1, l2], config }])));
    const img = asImage(await openArchive(file));
    assert.deepEqual(
      img.layers.map((l) => [l.compression, l.digest, l.mediaType]),
      [
        ['none', u1.diffId, 'application/vnd.docker.image.rootfs.diff.tar'],
        ['gzip', l2.digest, 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
      ],
    );
  });
});

describe('docker save (Docker 25+: OCI layout + manifest.json)', () => {
  it('prefers the OCI manifests and takes RepoTags from manifest.json', async () => {
    const blobs = new Blobs();
    const config = makeConfig([u1.diffId]);
    const m = ociImage(blobs, [u1], config);
    const other = makeConfig([u2.diffId], { os: 'linux', architecture: 'arm64' });
    const m2 = ociImage(blobs, [u2], other);
    const tagged = (name: string, tag: string) => ({ ...m, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag } });
    const manifestJson = [
      { Config: `blobs/sha256/${sha(config).slice(7)}`, RepoTags: ['alpine:3', 'alpine:latest'], Layers: [`blobs/sha256/${u1.digest.slice(7)}`] },
      { Config: `blobs/sha256/${sha(other).slice(7)}`, RepoTags: ['other:1'], Layers: [`blobs/sha256/${u2.digest.slice(7)}`] },
    ];
    const entries = ociLayoutEntries(blobs, [tagged('docker.io/library/alpine:3', '3'), tagged('docker.io/library/alpine:latest', 'latest'), m2], [
      { name: 'manifest.json', data: JSON.stringify(manifestJson) },
    ]);
    const archive = await openArchive(await archiveFile(await packTar(entries)));
    assert.equal(archive.format, 'docker-save-oci');
    assert.deepEqual(
      archive.images.map((im) => [im.repoTags, im.refName, im.root.digest]),
      [
        [['alpine:3'], '3', m.digest],
        [['alpine:latest'], 'latest', m.digest],
        [['other:1'], undefined, m2.digest],
      ],
    );
    const img = asImage(archive);
    assert.equal(img.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(img.rawManifest, blobs.map.get(`blobs/sha256/${m.digest.slice(7)}`));
    assert.equal(img.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.equal(img.layers[0]!.compression, 'none');
  });
});

/** An OCI layout with a nested index (two platforms) plus a plain image. */
function nestedLayout(): { blobs: Blobs; top: ReturnType<typeof ociImage>[]; amd: ReturnType<typeof ociImage>; arm: ReturnType<typeof ociImage> } {
  const blobs = new Blobs();
  const amd = ociImage(blobs, [l1], makeConfig([l1.diffId]), { platform: { os: 'linux', architecture: 'amd64' } });
  const arm = ociImage(blobs, [l2], makeConfig([l2.diffId], { os: 'linux', architecture: 'arm64', variant: 'v8' }), {
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  });
  const inner = ociIndex(blobs, [amd, arm]);
  const outer = ociIndex(blobs, [inner], { annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  const single = ociImage(blobs, [u1], makeConfig([u1.diffId]), { annotations: { 'org.opencontainers.image.ref.name': 'single' } });
  return { blobs, top: [outer, single], amd, arm };
}

function checkNested(archive: Archive, amdDigest: string, armDigest: string): void {
  assert.equal(archive.images.length, 2);
  const multi = archive.images[0]!;
  assert.equal(multi.refName, 'multi');
  assert.equal(multi.root.kind, 'index');
  const inner = (multi.root as ImageIndex).manifests[0]!.item as ImageIndex;
  assert.equal(inner.kind, 'index');
  const [amd, arm] = inner.manifests.map((c) => c.item as Image);
  assert.equal(amd!.digest, amdDigest);
  assert.equal(arm!.digest, armDigest);
  assert.deepEqual(arm!.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.equal(arm!.layers[0]!.diffId, l2.diffId);
  assert.equal(archive.images[1]!.refName, 'single');
  assert.equal(archive.images[1]!.root.kind, 'image');
}

describe('OCI image layout', () => {
  it('reads an oci-archive tar with a nested index and two platforms', async () => {
    const { blobs, top, amd, arm } = nestedLayout();
    const archive = await openArchive(await archiveFile(await packTar(ociLayoutEntries(blobs, top))));
    assert.equal(archive.format, 'oci-archive');
    checkNested(archive, amd.digest, arm.digest);
  });

  it('reads an OCI layout directory', async () => {
    const { blobs, top, amd, arm } = nestedLayout();
    const root = `${dir}/layout-${n++}`;
    await writeTree(root, ociLayoutEntries(blobs, top));
    const archive = await openArchive(root);
    assert.equal(archive.format, 'oci-dir');
    checkNested(archive, amd.digest, arm.digest);
    const img = (((archive.images[0]!.root as ImageIndex).manifests[0]!.item as ImageIndex).manifests[0]!.item as Image);
    assert.equal(img.layers[0]!.source.location, `${root}/blobs/sha256/${l1.digest.slice(7)}`);
    assert.deepEqual(await readAll(img, 0), l1.stored);
  });

  it('accepts artifacts with a custom config type and nondistributable layers', async () => {
    const blobs = new Blobs();
    const cfg = blobs.add(Buffer.from('{}'), 'application/vnd.example.config+json');
    const payload = blobs.add(Buffer.from('hello artifact'), 'application/vnd.example.payload');
    const artifact = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: [payload] })), 'application/vnd.oci.image.manifest.v1+json');
    const foreignLayer = blobs.add(l1.stored, 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip');
    const cfg2 = blobs.add(makeConfig([l1.diffId]), 'application/vnd.oci.image.config.v1+json');
    const image = blobs.add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg2, layers: [foreignLayer] })), 'application/vnd.oci.image.manifest.v1+json');
    const archive = await openArchive(await archiveFile(await packTar(ociLayoutEntries(blobs, [artifact, image]))));
    const a = archive.images[0]!.root;
    assert.equal(a.kind, 'artifact');
    if (a.kind === 'artifact') {
      assert.equal(a.artifactType, 'application/vnd.example.config+json', 'OCI 1.1: the config type stands in for artifactType');
      assert.deepEqual(a.blobs.map((b) => [b.mediaType, b.digest, b.size]), [['application/vnd.example.payload', payload.digest, payload.size]]);
    }
    assert.equal(asImage(archive, 1).layers[0]!.foreign, true);
    assert.equal(asImage(archive, 1).layers[0]!.mediaType, 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip');
  });
});

describe('gzipped archives and stdin', () => {
  const kaniko = async () => packTar(kanikoEntries([{ tags: ['app:1'], layers: [l1, l2], config: makeConfig([l1.diffId, l2.diffId]) }]));

  it('detects gzip by magic bytes, spools once, and removes the temp file on close', async () => {
    const plain = await openArchive(await archiveFile(await kaniko()));
    const tmp = `${dir}/spool-${n++}`;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(tmp);
    const gz = await openArchive(await archiveFile(gzipSync(await kaniko()), `no-gz-suffix-${n++}.tar`), { tmpDir: tmp });
    assert.equal(gz.gzipped, true);
    assert.equal(gz.format, 'kaniko');
    assert.equal(gz.images[0]!.root.digest, plain.images[0]!.root.digest);
    assert.deepEqual(await readAll(asImage(gz), 0), l1.stored);
    assert.equal((await readdir(tmp)).length, 1);
    await gz.close();
    await gz.close(); // idempotent
    assert.deepEqual(await readdir(tmp), []);
  });

  it('reads "-" from a stream, plain or gzipped', async () => {
    const tmp = `${dir}/stdin-${n++}`;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(tmp);
    const tarBytes = await kaniko();
    const plain = await openArchive('-', { stdin: Readable.from([tarBytes.subarray(0, 100), tarBytes.subarray(100)]), tmpDir: tmp });
    assert.equal(plain.path, '-');
    assert.equal(plain.gzipped, false);
    assert.match(asImage(plain).layers[0]!.source.location, /^stdin!/);
    const gz = await openArchive('-', { stdin: Readable.from([gzipSync(tarBytes)]), tmpDir: tmp });
    assert.equal(gz.gzipped, true);
    assert.equal(gz.images[0]!.root.digest, plain.images[0]!.root.digest);
    assert.deepEqual(await readAll(asImage(gz), 1), l2.stored);
    await plain.close();
    await gz.close();
    assert.deepEqual(await readdir(tmp), []);
  });

  it('reads a gzipped OCI layout and a gzipped docker save', async () => {
    const { blobs, top } = nestedLayout();
    const oci = await openArchive(await archiveFile(gzipSync(await packTar(ociLayoutEntries(blobs, top)))));
    assert.equal(oci.format, 'oci-archive');
    assert.equal(oci.gzipped, true);
    const ds = await openArchive(await archiveFile(gzipSync(await packTar(dockerSaveEntries([{ tags: ['x:1'], layers: [u1], config: makeConfig([u1.diffId]) }], { skopeo: true })))));
    assert.equal(ds.format, 'docker-save');
    assert.deepEqual(await readAll(asImage(ds), 0), u1.stored);
    await oci.close();
    await ds.close();
  });
});
