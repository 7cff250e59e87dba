import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('deleteManifest', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let client: RegistryClient;
  let home: string;
  const rec = new Recorder();
  const repoName = 'del/app';
  let raw: Buffer;

  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
    home = await mkdtemp(join(tmpdir(), 'tarpush-delete-home-'));
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log, homeDir: home, env: {}, ...reg.users.admin });
    const cfg = randomBlob(100);
    await client.repository(repoName).putBlob(cfg.digest, cfg.source);
    raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size }, layers: [] }));
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('resolves a tag with HEAD, then DELETEs by digest with the delete scope', async () => {
    proxy.setRules([]);
    const repo = client.repository(repoName);
    const digest = await repo.putManifest('v1', raw, MediaType.ociManifest);
    const before = proxy.requests.length;
    assert.equal(await repo.deleteManifest('v1'), digest);
    const reqs = proxy.requests.slice(before).filter((r) => r.status !== 401);
    assert.deepEqual(
      reqs.map((r) => `${r.method} ${r.path} ${r.status}`),
      [`HEAD /v2/${repoName}/manifests/v1 200`, `DELETE /v2/${repoName}/manifests/${digest} 202`],
    );
    assert.ok(reg.tokenServer!.requests.some((r) => r.scopes.includes(`repository:${repoName}:delete`)));
    assert.equal(await repo.headManifest('v1'), undefined);
  });

  it('deletes by digest directly', async () => {
    const repo = client.repository(repoName);
    const digest = await repo.putManifest('v2', raw, MediaType.ociManifest);
    assert.equal(await repo.deleteManifest(digest), digest);
    assert.equal(recorded(proxy.requests, 'HEAD', new RegExp(`/manifests/${digest}$`)).length, 0);
  });

  it('says NOT_FOUND for an unknown tag and UNSUPPORTED when deletes are disabled (405)', async () => {
    const repo = client.repository(repoName);
    await rec.rejects(repo.deleteManifest('never-pushed'), 'NOT_FOUND');
    await repo.putManifest('v3', raw, MediaType.ociManifest);
    proxy.setRules([{ kind: 'status', status: 405, match: { method: 'DELETE' } }]);
    const err = await rec.rejects(repo.deleteManifest('v3'), 'UNSUPPORTED');
    assert.equal(err.details.status, 405);
    proxy.setRules([]);
  });

  it('refuses the reader: AUTH_DENIED', async () => {
    const reader = new RegistryClient(proxy.host, { ...FAST, log: rec.log, homeDir: home, env: {}, ...reg.users.reader });
    try {
      const repo = reader.repository(repoName);
      await rec.rejects(repo.deleteManifest('v3'), 'AUTH_DENIED');
    } finally {
      await reader.close();
    }
  });
});
