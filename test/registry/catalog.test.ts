import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, collect, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';

describe('catalog', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  const rec = new Recorder();
  const names = ['cat/a', 'cat/b', 'cat/c', 'other/z'];

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log });
    const b = randomBlob(10);
    // distribution lists repositories that hold at least one blob link
    for (const n of names) await client.repository(n).putBlob(b.digest, b.source);
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  it('lists every repository in one page by default', async () => {
    assert.deepEqual(await collect(client.catalog()), names);
  });

  it('follows the relative Link distribution sends with n=1', async () => {
    const before = proxy.requests.length;
    assert.deepEqual(await collect(client.catalog({ n: 1 })), names);
    const pages = recorded(proxy.requests.slice(before), 'GET', /^\/v2\/_catalog/);
    assert.deepEqual(
      pages.map((p) => p.path),
      // the page holding the last repository comes without a Link
      ['/v2/_catalog?n=1', '/v2/_catalog?last=cat%2Fa&n=1', '/v2/_catalog?last=cat%2Fb&n=1', '/v2/_catalog?last=cat%2Fc&n=1'],
    );
  });

  it('starts after `last`', async () => {
    assert.deepEqual(await collect(client.catalog({ last: 'cat/b' })), ['cat/c', 'other/z']);
  });

  it('surfaces the PAGINATION_NUMBER_INVALID error of distribution', async () => {
    const err = await rec.rejects(collect(client.catalog({ n: 5000 })), 'REGISTRY_ERROR');
    assert.equal(err.details.registryCode, 'PAGINATION_NUMBER_INVALID');
    assert.equal(err.details.status, 400);
  });
});
