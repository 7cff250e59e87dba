import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { FAST, recorded } from './helpers.js';

describe('referrers', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  const subject = `sha256:${'a'.repeat(64)}` as const;
  const sbom = { mediaType: MediaType.ociManifest, digest: `sha256:${'b'.repeat(64)}`, size: 10, artifactType: 'application/spdx+json' };
  const sig = { mediaType: MediaType.ociManifest, digest: `sha256:${'c'.repeat(64)}`, size: 11, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' };

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    client = new RegistryClient(proxy.host, FAST);
  });
  after(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
  });

  it('is undefined on distribution 2.8, which has no referrers API (404)', async () => {
    assert.equal(await client.repository('ref/app').referrers(subject), undefined);
  });

  it('reads an index of referrers, filtering by artifactType when the registry did not', async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [sbom, sig] });
    proxy.setRules([{ kind: 'status', status: 200, match: { path: /\/referrers\// }, headers: { 'Content-Type': MediaType.ociIndex }, body }]);
    const repo = client.repository('ref/app');
    assert.deepEqual(await repo.referrers(subject), [sbom, sig]);
    assert.deepEqual(await repo.referrers(subject, 'application/spdx+json'), [sbom]);
    const asked = recorded(proxy.requests, 'GET', /\/referrers\//).at(-1)!;
    assert.equal(asked.path, `/v2/ref/app/referrers/${subject}?artifactType=application%2Fspdx%2Bjson`);
    assert.equal(asked.headers.accept, MediaType.ociIndex);
  });

  it('trusts OCI-Filters-Applied', async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [sig] });
    proxy.setRules([{ kind: 'status', status: 200, match: { path: /\/referrers\// }, headers: { 'Content-Type': MediaType.ociIndex, 'OCI-Filters-Applied': 'artifactType' }, body }]);
    assert.deepEqual(await client.repository('ref/app').referrers(subject, 'application/spdx+json'), [sig]);
    proxy.setRules([]);
  });
});
