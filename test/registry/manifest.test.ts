import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { bufferSource } from '../../src/image/sources.js';
import { RegistryClient } from '../../src/registry/index.js';
import { skopeo, skopeoAuthArgs } from '../support/skopeo.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, digestOf, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';

/** Manifests of every kind, pushed and read back with all digests checked. */
describe('manifests', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  const rec = new Recorder();
  const repoName = 'man/app';
  const layer = randomBlob(10_000);
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:' + 'e'.repeat(64) + '"]}}');
  const configDigest = digestOf(config);

  const imageManifest = (format: 'docker' | 'oci') =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest,
        config: { mediaType: format === 'docker' ? MediaType.dockerConfig : MediaType.ociConfig, digest: configDigest, size: config.length },
        layers: [{ mediaType: format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: layer.digest, size: layer.size }],
      }),
    );

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log });
    const repo = client.repository(repoName);
    await repo.putBlob(layer.digest, layer.source);
    await repo.putBlob(configDigest, bufferSource(config, 'config'));
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  for (const format of ['docker', 'oci'] as const) {
    it(`PUTs, GETs and HEADs a ${format} image manifest with its Content-Type`, async () => {
      proxy.setRules([]);
      const repo = client.repository(repoName);
      const raw = imageManifest(format);
      const mediaType = format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest;
      const digest = await repo.putManifest(`${format}-v1`, raw, mediaType);
      assert.equal(digest, digestOf(raw));
      const put = recorded(proxy.requests, 'PUT', new RegExp(`/manifests/${format}-v1$`)).at(-1)!;
      assert.equal(put.headers['content-type'], mediaType);
      const got = await repo.getManifest(`${format}-v1`);
      assert.deepEqual(got, { raw, mediaType, digest });
      const get = recorded(proxy.requests, 'GET', new RegExp(`/manifests/${format}-v1$`)).at(-1)!;
      for (const m of [MediaType.dockerManifest, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.ociIndex]) {
        assert.ok(String(get.headers.accept).includes(m), `Accept lists ${m}`);
      }
      assert.deepEqual(await repo.getManifest(digest), { raw, mediaType, digest });
      assert.deepEqual(await repo.headManifest(`${format}-v1`), { digest, mediaType, size: raw.length });
      assert.equal(await repo.headManifest('missing-tag'), undefined);
      // skopeo, an independent client, sees the same digest
      const inspect = await skopeo(['inspect', '--raw', ...skopeoAuthArgs(reg), `docker://${reg.host}/${repoName}:${format}-v1`]);
      assert.equal(digestOf(Buffer.from(inspect.stdout)), digest);
    });
  }

  it('PUTs an index by digest and under a tag', async () => {
    proxy.setRules([]);
    const repo = client.repository(repoName);
    const child = imageManifest('oci');
    const childDigest = await repo.putManifest(digestOf(child), child, MediaType.ociManifest);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ mediaType: MediaType.ociManifest, digest: childDigest, size: child.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    const d = await repo.putManifest('multi', index, MediaType.ociIndex);
    const got = await repo.getManifest('multi');
    assert.equal(got.mediaType, MediaType.ociIndex);
    assert.equal(got.digest, d);
    const onlyImages = await repo.getManifest(childDigest, { accept: [MediaType.ociManifest] });
    assert.equal(onlyImages.digest, childDigest);
  });

  it('accepts a 202 answer to a manifest PUT', async () => {
    proxy.setRules([{ kind: 'accepted-not-created' }]);
    const raw = imageManifest('docker');
    const d = await client.repository(repoName).putManifest('accepted', raw, MediaType.dockerManifest);
    assert.equal(d, digestOf(raw));
    assert.equal(recorded(proxy.requests, 'PUT', /\/manifests\/accepted$/).at(-1)!.status, 202);
    proxy.setRules([]);
  });

  it('refuses digests that do not match the bytes', async () => {
    const repo = client.repository(repoName);
    const raw = imageManifest('oci');
    await rec.rejects(repo.putManifest(`sha256:${'7'.repeat(64)}`, raw, MediaType.ociManifest), 'DIGEST_MISMATCH');
    proxy.setRules([{ kind: 'status', status: 201, match: { method: 'PUT', path: /\/manifests\/lying$/ }, headers: { 'Docker-Content-Digest': `sha256:${'8'.repeat(64)}` }, body: '' }]);
    await rec.rejects(repo.putManifest('lying', raw, MediaType.ociManifest), 'REGISTRY_DIGEST_MISMATCH');
    const good = await repo.putManifest('good', raw, MediaType.ociManifest);
    proxy.setRules([
      { kind: 'status', status: 200, match: { method: 'GET', path: /\/manifests\/good$/ }, headers: { 'Content-Type': MediaType.ociManifest, 'Docker-Content-Digest': good }, body: '{"tampered":true}' },
      { kind: 'status', status: 200, match: { method: 'GET', path: /\/manifests\/sha256:/ }, headers: { 'Content-Type': MediaType.ociManifest }, body: '{"tampered":true}' },
    ]);
    await rec.rejects(repo.getManifest('good'), 'REGISTRY_DIGEST_MISMATCH');
    const err = await rec.rejects(repo.getManifest(good), 'REGISTRY_DIGEST_MISMATCH');
    assert.equal(err.details.expected, good);
    proxy.setRules([]);
  });

  it('reports unknown manifests as NOT_FOUND with the registry code', async () => {
    const err = await rec.rejects(client.repository(repoName).getManifest('nope'), 'NOT_FOUND');
    assert.equal(err.details.registryCode, 'MANIFEST_UNKNOWN');
    assert.equal(err.details.status, 404);
    assert.match(err.message, /manifest .*man\/app:nope/);
  });

  it('surfaces a registry error body as a typed error', async () => {
    const raw = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + '9'.repeat(64) + '","size":2},"layers":[]}');
    const err = await rec.rejects(client.repository(repoName).putManifest('broken', raw, MediaType.ociManifest), 'REGISTRY_ERROR');
    assert.equal(err.details.status, 400);
    assert.equal(err.details.registryCode, 'MANIFEST_BLOB_UNKNOWN');
  });
});
