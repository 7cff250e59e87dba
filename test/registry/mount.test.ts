import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('mountBlob', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  let home: string;
  const rec = new Recorder();
  const blob = randomBlob(50_000);

  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
    home = await mkdtemp(join(tmpdir(), 'tarpush-mount-home-'));
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log, homeDir: home, env: {}, ...reg.users.admin });
    await client.repository('mnt/source').putBlob(blob.digest, blob.source);
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('mounts a blob from another repository (201) with a token holding both scopes', async () => {
    proxy.setRules([]);
    const target = client.repository('mnt/target1');
    assert.equal(await target.hasBlob(blob.digest), false);
    assert.equal(await target.mountBlob(blob.digest, 'mnt/source'), true);
    assert.equal(await target.hasBlob(blob.digest), true);
    const post = recorded(proxy.requests, 'POST', /^\/v2\/mnt\/target1\/blobs\/uploads\/\?mount=/);
    assert.equal(post.length, 1);
    assert.equal(post[0]!.status, 201);
    assert.match(post[0]!.path, /from=mnt%2Fsource/);
    const tokenScopes = reg.tokenServer!.requests.map((r) => r.scopes.join(' '));
    assert.ok(tokenScopes.includes('repository:mnt/source:pull repository:mnt/target1:pull,push'));
  });

  it('answers false and abandons the session when the registry opens an upload instead (202)', async () => {
    proxy.setRules([]);
    const target = client.repository('mnt/target2');
    const unknown = randomBlob(10);
    assert.equal(await target.mountBlob(unknown.digest, 'mnt/source'), false);
    const deletes = recorded(proxy.requests, 'DELETE', /^\/v2\/mnt\/target2\/blobs\/uploads\//);
    assert.equal(deletes.length, 1, 'the session was cancelled');
    assert.equal(deletes[0]!.status, 204);
    // and the normal upload then works
    await target.putBlob(unknown.digest, unknown.source);
    assert.equal(await target.hasBlob(unknown.digest), true);
  });

  it('answers false on 401/403/404 (Harbor, Docker Hub)', async () => {
    for (const status of [401, 403, 404, 400]) {
      proxy.setRules([{ kind: 'status', status, match: { method: 'POST', path: /[?&]mount=/ } }]);
      assert.equal(await client.repository(`mnt/target-${status}`).mountBlob(blob.digest, 'mnt/source'), false, `status ${status}`);
    }
    proxy.setRules([]);
  });

  it('treats a mount from the same repository as a HEAD', async () => {
    proxy.setRules([]);
    assert.equal(await client.repository('mnt/source').mountBlob(blob.digest, 'mnt/source'), true);
  });

  it('answers false for the reader (no push), and the upload then fails AUTH_DENIED', async () => {
    const reader = new RegistryClient(proxy.host, { ...FAST, log: rec.log, homeDir: home, env: {}, ...reg.users.reader });
    try {
      const repo = reader.repository('mnt/target3');
      assert.equal(await repo.mountBlob(blob.digest, 'mnt/source'), false);
      await rec.rejects(repo.putBlob(blob.digest, blob.source), 'AUTH_DENIED');
    } finally {
      await reader.close();
    }
  });
});
