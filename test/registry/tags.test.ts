import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, collect, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';

describe('tags', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  const rec = new Recorder();
  const repoName = 'tags/app';

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log });
    const repo = client.repository(repoName);
    const cfg = randomBlob(100);
    await repo.putBlob(cfg.digest, cfg.source);
    const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size }, layers: [] }));
    for (const t of ['v1', 'v2', 'latest', 'a-b_c.d']) await repo.putManifest(t, raw, MediaType.ociManifest);
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  it('lists the tags of a repository', async () => {
    proxy.setRules([]);
    const tags = await collect(client.repository(repoName).tags());
    assert.deepEqual([...tags].sort(), ['a-b_c.d', 'latest', 'v1', 'v2']);
  });

  it('follows relative Link pages and passes n/last', async () => {
    proxy.setRules([
      {
        kind: 'status',
        status: 200,
        match: { method: 'GET', path: /\/tags\/list\?n=2$/ },
        headers: { 'Content-Type': 'application/json', Link: `</v2/${repoName}/tags/list?last=b&n=2>; rel="next"` },
        body: JSON.stringify({ name: repoName, tags: ['a', 'b'] }),
      },
      {
        kind: 'status',
        status: 200,
        match: { method: 'GET', path: /\/tags\/list\?last=b&n=2$/ },
        headers: { 'Content-Type': 'application/json', Link: `<http://${proxy.host}/v2/${repoName}/tags/list?last=d&n=2>; rel="next"` },
        body: JSON.stringify({ name: repoName, tags: ['c', 'd'] }),
      },
      {
        kind: 'status',
        status: 200,
        match: { method: 'GET', path: /\/tags\/list\?last=d&n=2$/ },
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: repoName, tags: ['e'] }),
      },
    ]);
    const tags = await collect(client.repository(repoName).tags({ n: 2 }));
    assert.deepEqual(tags, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(recorded(proxy.requests, 'GET', /\/tags\/list/).filter((r) => r.status === 200).length >= 3, true);
    proxy.setRules([]);
  });

  it('reads "tags": null as no tags and stops a Link loop', async () => {
    proxy.setRules([{ kind: 'status', status: 200, match: { path: /\/tags\/list$/ }, headers: { 'Content-Type': 'application/json' }, body: `{"name":"${repoName}","tags":null}`, times: 1 }]);
    assert.deepEqual(await collect(client.repository(repoName).tags()), []);
    proxy.setRules([
      {
        kind: 'status',
        status: 200,
        match: { path: /\/tags\/list/ },
        headers: { 'Content-Type': 'application/json', Link: `</v2/${repoName}/tags/list?n=1>; rel="next"` },
        body: '{"tags":["x"]}',
      },
    ]);
    await rec.rejects(collect(client.repository(repoName).tags({ n: 1 })), 'REGISTRY_ERROR');
    proxy.setRules([]);
  });

  it('reports an unknown repository as NOT_FOUND', async () => {
    const err = await rec.rejects(collect(client.repository('tags/missing').tags()), 'NOT_FOUND');
    assert.equal(err.details.registryCode, 'NAME_UNKNOWN');
  });
});
