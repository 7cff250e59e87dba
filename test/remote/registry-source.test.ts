import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { sha256 } from '../../src/image/digest.js';
import type { Image, ImageIndex } from '../../src/image/types.js';
import { publish } from '../../src/publish/publish.js';
import { RegistryClient } from '../../src/registry/index.js';
import { registryBlobSource } from '../../src/remote/blob-source.js';
import { mountHintOf, openRegistrySource } from '../../src/remote/registry-source.js';
import { expectedFacts, fixtureByName } from '../support/fixtures.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { skopeo } from '../support/skopeo.js';
import { FAST, randomBlob, recorded } from '../registry/helpers.js';
import { DockerArchiveSink } from '../../src/tarball/index.js';
import { putImage } from '../tarball/put-image.js';

/** A registry reference opened as an image source: the model, the bytes, ranges and resumes. */
describe('registry source', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let home: string;
  let client: RegistryClient;
  const demo = expectedFacts('oci-layout').images![0]!;
  const multi = expectedFacts('multi-platform');
  const big = randomBlob(1_500_000);

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    home = await mkdtemp(join(tmpdir(), 'tarpush-source-home-'));
    await publish({ source: fixtureByName('oci-layout').path, destinations: [`${reg.host}/src/demo:v1`], cache: false });
    await publish({ source: fixtureByName('multi-platform').path, destinations: [`${reg.host}/src/multi:v1`], cache: false });
    client = new RegistryClient(proxy.host, { ...FAST, homeDir: home, env: {} });
    await client.repository('src/big').putBlob(big.digest, big.source);
  });
  after(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const layerPath = (d: string): RegExp => new RegExp(`/blobs/${d}$`);

  it('opens an image: manifest and config as pushed, every layer streams bytes that hash to its digest', async () => {
    proxy.setRules([]);
    const item = await openRegistrySource(client.repository('src/demo'), 'v1');
    assert.equal(item.kind, 'image');
    const image = item as Image;
    const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/src/demo:v1`])).stdout;
    assert.equal(image.digest, sha256(raw));
    assert.equal(image.digest, demo.manifestDigest);
    assert.deepEqual(image.rawManifest, Buffer.from(raw));
    assert.equal(image.config.digest, demo.configDigest);
    assert.equal(sha256(image.rawConfig), demo.configDigest);
    assert.deepEqual(image.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(
      image.layers.map((l) => [l.digest, l.size, l.mediaType, l.compression, l.diffId]),
      demo.layers.map((l, i) => [l.digest, l.size, l.mediaType, 'gzip', demo.diffIds[i]]),
    );
    for (const l of image.layers) {
      const bytes = await buffer(l.source.open());
      assert.equal(sha256(bytes), l.digest);
      assert.equal(bytes.length, l.size);
      assert.deepEqual(mountHintOf(l), { registry: proxy.host, repository: 'src/demo' });
    }
    assert.deepEqual(mountHintOf(image), { registry: proxy.host, repository: 'src/demo' });
  });

  it('a ranged open sends Range and returns exactly those bytes', async () => {
    proxy.setRules([]);
    const image = (await openRegistrySource(client.repository('src/demo'), 'v1')) as Image;
    const layer = image.layers[1]!;
    const whole = await buffer(layer.source.open());
    const before = proxy.requests.length;
    const part = await buffer(layer.source.open(10, 50));
    assert.deepEqual(part, whole.subarray(10, 50));
    const sent = recorded(proxy.requests.slice(before), 'GET', layerPath(layer.digest));
    assert.deepEqual(sent.map((r) => r.headers.range), ['bytes=10-49']);
    assert.deepEqual(await buffer(layer.source.open(layer.size - 3)), whole.subarray(layer.size - 3));
    assert.equal((await buffer(layer.source.open(5, 5))).length, 0);
  });

  it('resumes a body cut mid-way from the offset reached (Range), and the digest still checks', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 400_000, match: { method: 'GET', path: layerPath(big.digest) }, times: 1 }]);
    const source = registryBlobSource(client.repository('src/big'), big.digest, big.size);
    const before = proxy.requests.length;
    const got = await buffer(source.open());
    assert.deepEqual(got, big.data);
    const sent = recorded(proxy.requests.slice(before), 'GET', layerPath(big.digest));
    assert.equal(sent.length, 2, 'one request, then one resume');
    assert.equal(sent[0]!.headers.range, undefined);
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(sent[1]!.headers.range));
    assert.ok(m, `the resume asks for a range, got ${String(sent[1]!.headers.range)}`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 400_000, `resumed from the offset reached, not 0 (${m[1]})`);
    assert.equal(Number(m[2]), big.size - 1);
  });

  it('resumes a ranged read inside its range', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 300_000, match: { method: 'GET', path: layerPath(big.digest) }, times: 1 }]);
    const source = registryBlobSource(client.repository('src/big'), big.digest, big.size);
    const before = proxy.requests.length;
    const got = await buffer(source.open(100_000, 1_200_000));
    assert.deepEqual(got, big.data.subarray(100_000, 1_200_000));
    const ranges = recorded(proxy.requests.slice(before), 'GET', layerPath(big.digest)).map((r) => String(r.headers.range));
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], 'bytes=100000-1199999');
    assert.match(ranges[1]!, /^bytes=(\d+)-1199999$/);
    assert.ok(Number(/=(\d+)-/.exec(ranges[1]!)![1]) > 100_000);
  });

  it('a whole read of bytes that are not the blob fails with REGISTRY_DIGEST_MISMATCH', async () => {
    const image = (await openRegistrySource(client.repository('src/demo'), 'v1')) as Image;
    const layer = image.layers[0]!;
    proxy.setRules([{ kind: 'status', status: 200, body: 'x'.repeat(layer.size), match: { method: 'GET', path: layerPath(layer.digest) } }]);
    await assert.rejects(buffer(layer.source.open()), (e: unknown) => isTarpushError(e, 'REGISTRY_DIGEST_MISMATCH') && e.details.expected === layer.digest);
    proxy.setRules([]);
  });

  it('opens an index with every child, each manifest fetched once', async () => {
    proxy.setRules([]);
    const before = proxy.requests.length;
    const item = await openRegistrySource(client.repository('src/multi'), 'v1');
    assert.equal(item.kind, 'index');
    const index = item as ImageIndex;
    assert.equal(index.digest, multi.indexDigest);
    assert.deepEqual(
      index.manifests.map((c) => (c.item as Image).config.digest),
      multi.platforms!.map((p) => p.configDigest),
    );
    for (const c of index.manifests) assert.equal(c.item?.digest, c.descriptor.digest);
    const gets = recorded(proxy.requests.slice(before), 'GET', /\/manifests\//).map((r) => r.path);
    assert.equal(gets.length, new Set(gets).size, 'no manifest fetched twice');
    assert.equal(gets.length, 1 + index.manifests.length);
  });

  it('caps the manifests one source may lead to', async () => {
    proxy.setRules([]);
    await assert.rejects(openRegistrySource(client.repository('src/multi'), 'v1', { maxManifests: 2 }), (e: unknown) => isTarpushError(e, 'MANIFEST_INVALID') && /more than 2 manifests/.test(e.message));
  });

  it('feeds a sink: saved to a docker archive, skopeo reads the same config and diff_ids', async () => {
    proxy.setRules([]);
    const image = (await openRegistrySource(client.repository('src/demo'), 'v1')) as Image;
    const file = join(home, 'saved.tar');
    const sink = await DockerArchiveSink.create(file, { repository: 'example.com/saved' });
    await putImage(sink, image, ['v1']);
    await sink.close();
    const info = JSON.parse((await skopeo(['inspect', `docker-archive:${file}`])).stdout) as { Layers: string[] };
    assert.deepEqual(info.Layers, demo.diffIds);
    assert.equal(sha256((await skopeo(['inspect', '--config', '--raw', `docker-archive:${file}`])).stdout), demo.configDigest);
  });

  it('a missing reference is NOT_FOUND', async () => {
    proxy.setRules([]);
    await assert.rejects(openRegistrySource(client.repository('src/demo'), 'nope'), (e: unknown) => isTarpushError(e, 'NOT_FOUND'));
  });
});
