import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { expectedFacts, fixtureByName, fixtures, fixturesDir, skopeoAvailable, skopeoExpectations } from '../support/fixtures.js';
import { walkTar } from './tar-walk.js';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function duBytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, name) => n + duBytes(join(p, name)), 0);
}

/** name → bytes of a fixture tar (checked to walk cleanly to its end marker). */
function tarEntries(name: string): Map<string, Buffer> {
  const w = walkTar(readFileSync(fixtureByName(name).path));
  assert.equal(w.problem, undefined, `${name} walks cleanly`);
  assert.ok(w.endMarker, `${name} ends with zero blocks`);
  return new Map(w.entries.filter((e) => e.type === '0').map((e) => [e.name, e.data]));
}

describe('committed fixtures', () => {
  it('all exist and stay small', () => {
    for (const f of fixtures) {
      assert.ok(statSync(f.path, { throwIfNoEntry: false }), `${f.name} exists (run fixtures/make-fixtures.sh)`);
      assert.ok(f.path.startsWith(fixturesDir), `${f.name} is resolved under fixtures/`);
    }
    const total = duBytes(fixturesDir);
    assert.ok(total < 1024 * 1024, `fixtures/ is ${total} bytes, under 1 MiB`);
  });

  it('expected.json describes every fixture with well-formed digests', () => {
    for (const f of fixtures) {
      const e = expectedFacts(f);
      const images = e.images ?? e.platforms ?? [];
      assert.equal(e.images ? e.images.length : f.images, f.images, `${f.name}: image count`);
      assert.ok(images.length > 0, `${f.name} has images`);
      for (const img of images) {
        assert.match(img.configDigest, /^sha256:[0-9a-f]{64}$/);
        assert.equal(img.diffIds.length, img.layers.length, `${f.name}: one diff_id per layer`);
        for (const d of [...img.diffIds, ...img.layers.map((l) => l.digest)]) assert.match(d, /^sha256:[0-9a-f]{64}$/);
      }
    }
  });

  it('kaniko.tar follows go-containerregistry tarball.Write and its expected manifest matches', () => {
    const entries = tarEntries('kaniko.tar');
    const [img] = expectedFacts('kaniko.tar').images!;
    const names = [...entries.keys()];
    assert.equal(names[0], img!.configDigest, 'config entry first, named sha256:<hex>');
    assert.equal(names.at(-1), 'manifest.json', 'manifest.json last');
    assert.equal(sha256(entries.get(img!.configDigest)!), img!.configDigest);
    const manifestJson = JSON.parse(entries.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(manifestJson[0]!.RepoTags, ['registry.example/demo/kaniko:latest']);
    img!.layers.forEach((l, i) => {
      const name = manifestJson[0]!.Layers[i]!;
      assert.equal(name, `${l.digest.slice(7)}.tar.gz`, 'layer named by the digest of its gzip bytes');
      const data = entries.get(name)!;
      assert.equal(sha256(data), l.digest);
      assert.equal(data.length, l.size);
      assert.equal(sha256(gunzipSync(data)), img!.diffIds[i], 'diff_id is the digest of the uncompressed layer');
    });
    const config = JSON.parse(entries.get(img!.configDigest)!.toString()) as { rootfs: { diff_ids: string[] }; architecture: string; os: string };
    assert.deepEqual(config.rootfs.diff_ids, img!.diffIds);
    assert.equal(sha256(img!.manifest!), img!.manifestDigest);
    const m = JSON.parse(img!.manifest!) as { config: { digest: string; size: number } };
    assert.equal(m.config.digest, img!.configDigest);
    assert.equal(m.config.size, entries.get(img!.configDigest)!.length);
  });

  it('docker25.tar holds an OCI layout plus manifest.json naming the same blobs', () => {
    const entries = tarEntries('docker25.tar');
    for (const [name, data] of entries) if (name.startsWith('blobs/sha256/')) assert.equal(sha256(data), `sha256:${name.slice(13)}`, `${name} is content-addressed`);
    const index = JSON.parse(entries.get('index.json')!.toString()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    assert.equal(index.manifests[0]!.annotations['io.containerd.image.name'], 'example.com/demo/d25:v1');
    assert.equal(index.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'v1');
    const manifest = JSON.parse(entries.get(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`)!.toString()) as {
      config: { digest: string };
      layers: { digest: string; mediaType: string }[];
    };
    const mj = JSON.parse(entries.get('manifest.json')!.toString()) as { Config: string; Layers: string[]; LayerSources: Record<string, unknown> }[];
    assert.equal(mj[0]!.Config, `blobs/sha256/${manifest.config.digest.slice(7)}`);
    assert.deepEqual(mj[0]!.Layers, manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
    assert.ok(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar'));
    assert.deepEqual(Object.keys(mj[0]!.LayerSources).sort(), manifest.layers.map((l) => l.digest).sort());
    assert.ok(entries.has('oci-layout') && entries.has('repositories'));
  });

  it('multi-image.tar holds two images sharing one layer entry', () => {
    const entries = tarEntries('multi-image.tar');
    const mj = JSON.parse(entries.get('manifest.json')!.toString()) as { RepoTags: string[]; Layers: string[] }[];
    assert.equal(mj.length, 2);
    assert.deepEqual(
      mj.map((m) => m.RepoTags[0]),
      ['example.com/demo/one:v1', 'example.com/demo/two:v2'],
    );
    assert.equal(mj[0]!.Layers[0], mj[1]!.Layers[0], 'base layer shared');
    assert.notEqual(mj[0]!.Layers[1], mj[1]!.Layers[1]);
    for (const m of mj) for (const l of m.Layers) assert.ok(entries.has(l), `${l} present`);
  });

  it('multi-platform/ nests an image index with two platforms', () => {
    const dir = fixtureByName('multi-platform').path;
    const blob = (d: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
    assert.equal(index.manifests[0]!.mediaType, 'application/vnd.oci.image.index.v1+json');
    const nestedBytes = blob(index.manifests[0]!.digest);
    assert.equal(sha256(nestedBytes), index.manifests[0]!.digest);
    const nested = JSON.parse(nestedBytes.toString()) as { manifests: { platform: { architecture: string } }[] };
    assert.deepEqual(
      nested.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    assert.equal(expectedFacts('multi-platform').indexDigest, index.manifests[0]!.digest);
  });
});

describe('skopeo reads the fixtures as we generated them', async () => {
  const skip = (await skopeoAvailable()) ? false : 'skopeo not installed';

  for (const f of fixtures.filter((x) => x.skopeoTransport)) {
    it(`${f.name} (${f.skopeoTransport!.split(':')[0]})`, { skip }, async () => {
      const e = expectedFacts(f);
      const want = e.images?.[0] ?? e.platforms![0]!;
      const got = await skopeoExpectations(f);
      assert.equal(got.configDigest, want.configDigest, 'config digest');
      assert.deepEqual(got.diffIds, want.diffIds, 'diff_ids');
      assert.equal(got.os, 'linux');
      assert.equal(got.architecture, 'amd64');
      if (f.format === 'oci-dir' || f.format === 'oci-archive') {
        // skopeo serves the stored manifest (or index) bytes unchanged
        assert.equal(got.manifestDigest, e.indexDigest ?? want.manifestDigest);
      }
    });
  }

  it('multi-image.tar: the second image by its RepoTag', { skip }, async () => {
    const f = fixtureByName('multi-image.tar');
    const want = expectedFacts(f).images![1]!;
    const got = await skopeoExpectations(f, { transport: `docker-archive:${f.path}:example.com/demo/two:v2` });
    assert.equal(got.configDigest, want.configDigest);
    assert.deepEqual(got.diffIds, want.diffIds);
  });

  it('multi-platform/: the arm64 platform', { skip }, async () => {
    const f = fixtureByName('multi-platform');
    const want = expectedFacts(f).platforms![1]!;
    const got = await skopeoExpectations(f, { arch: 'arm64', variant: 'v8' });
    assert.equal(got.architecture, 'arm64');
    assert.equal(got.configDigest, want.configDigest);
    assert.deepEqual(got.diffIds, want.diffIds);
  });

  it('docker25.tar also reads as an OCI archive with the stored manifest', { skip }, async () => {
    const f = fixtureByName('docker25.tar');
    const want = expectedFacts(f).images![0]!;
    const got = await skopeoExpectations(f, { transport: `oci-archive:${f.path}:v1` });
    assert.equal(got.manifestDigest, want.manifestDigest);
    assert.equal(got.configDigest, want.configDigest);
    assert.deepEqual(got.diffIds, want.diffIds);
  });
});
