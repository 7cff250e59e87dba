import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { RegistryClient, type ClientOptions } from '../../src/registry/index.js';
import { startBlobRedirectTarget, startFaultProxy, type BlobRedirectTarget, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoForeignAuthorization, assertNoSecrets, FAST, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Reading blobs from a token-auth registry, with redirects to a storage host. */
describe('blobs', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let target: BlobRedirectTarget;
  let home: string;
  let client: RegistryClient;
  const rec = new Recorder();
  const repoName = 'blobs/app';
  const blob = randomBlob(1_500_000);

  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
    target = await startBlobRedirectTarget(proxy);
    home = await mkdtemp(join(tmpdir(), 'tarpush-blob-home-'));
    const opts: ClientOptions = { ...FAST, log: rec.log, homeDir: home, env: {}, ...reg.users.admin };
    client = new RegistryClient(proxy.host, opts);
    await client.repository(repoName).putBlob(blob.digest, blob.source);
  });
  after(async () => {
    await client?.close();
    assertNoForeignAuthorization([...proxy.requests, ...target.requests]);
    assertNoSecrets(rec, secretsOf(reg, [...proxy.requests, ...target.requests]));
    await target?.stop();
    await proxy?.stop();
    await reg?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('HEADs blobs: true, false', async () => {
    proxy.setRules([]);
    const repo = client.repository(repoName);
    assert.equal(await repo.hasBlob(blob.digest), true);
    assert.equal(await repo.hasBlob(`sha256:${'5'.repeat(64)}`), false);
  });

  it('follows a redirect to a storage host without sending it the Authorization header', async () => {
    proxy.setRules([{ kind: 'redirect-blobs', to: target.url }]);
    const repo = client.repository(repoName);
    const stream = await repo.getBlob(blob.digest);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), blob.data);
    assert.deepEqual(await repo.getBlobBytes(blob.digest, 2 << 20), blob.data);
    assert.equal(await repo.hasBlob(blob.digest), true);
    const atTarget = target.requests.filter((r) => r.status === 200);
    assert.ok(atTarget.length >= 3, 'GET, GET and HEAD were served by the storage host');
    assert.ok(target.requests.every((r) => r.headers.authorization === undefined));
    const atProxy = recorded(proxy.requests, 'GET', /\/blobs\/sha256:/).filter((r) => r.status === 307);
    assert.ok(atProxy.length >= 2 && atProxy.every((r) => typeof r.headers.authorization === 'string'), 'the registry itself got the token');
    assert.ok(rec.of('redirect').some((e) => e.droppedAuthorization));
  });

  it('errors the stream with REGISTRY_DIGEST_MISMATCH when the bytes do not match', async () => {
    proxy.setRules([{ kind: 'status', status: 200, body: 'not the blob you asked for', match: { method: 'GET', path: /\/blobs\/sha256:/ } }]);
    const stream = await client.repository(repoName).getBlob(blob.digest);
    await assert.rejects(text(stream), (e: unknown) => {
      rec.errors.push(e as Error);
      return isTarpushError(e, 'REGISTRY_DIGEST_MISMATCH') && e.details.expected === blob.digest;
    });
    await rec.rejects(client.repository(repoName).getBlobBytes(blob.digest, 1 << 20), 'REGISTRY_DIGEST_MISMATCH');
  });

  it('errors the stream with NETWORK_ERROR when the download breaks off', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 100_000, match: { method: 'GET', path: /\/blobs\/sha256:/ }, times: 1 }]);
    const stream = await client.repository(repoName).getBlob(blob.digest);
    await assert.rejects(text(stream), (e: unknown) => {
      rec.errors.push(e as Error);
      return isTarpushError(e, 'NETWORK_ERROR');
    });
  });

  it('bounds small reads and reports missing blobs as NOT_FOUND', async () => {
    proxy.setRules([]);
    const repo = client.repository(repoName);
    const big = await rec.rejects(repo.getBlobBytes(blob.digest, 1000), 'REGISTRY_ERROR');
    assert.match(big.message, /more than the 1000 allowed/);
    const missing = await rec.rejects(repo.getBlob(`sha256:${'6'.repeat(64)}`), 'NOT_FOUND');
    assert.equal(missing.details.registryCode, 'BLOB_UNKNOWN');
  });

  it('releases the connection when a download is abandoned', async () => {
    proxy.setRules([]);
    const repo = client.repository(repoName);
    for (let i = 0; i < 5; i++) {
      const s = await repo.getBlob(blob.digest);
      s.destroy();
    }
    assert.equal(await repo.hasBlob(blob.digest), true);
  });
});
