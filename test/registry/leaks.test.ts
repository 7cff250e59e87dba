import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegistryClient, type ClientOptions } from '../../src/registry/index.js';
import { startBlobRedirectTarget, startFaultProxy, type BlobRedirectTarget, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoForeignAuthorization, assertNoSecrets, collect, FAST, randomBlob, Recorder, secretsOf } from './helpers.js';

/**
 * The guard against credential leaks: drive both authenticated modes through successes and
 * every kind of failure, with debug events on, then look for any password, Basic value or
 * token in error messages, error details and events, and for Authorization at foreign hosts.
 */
for (const mode of ['htpasswd-tls', 'token'] as const) {
  describe(`no secret leaks (${mode})`, () => {
    let reg: RegistryHandle;
    let proxy: FaultProxyHandle;
    let target: BlobRedirectTarget;
    let home: string;
    const rec = new Recorder();
    const clients: RegistryClient[] = [];
    const make = (opts: ClientOptions) => {
      const c = new RegistryClient(proxy.host, { ...FAST, retries: 1, log: rec.log, homeDir: home, env: {}, ...opts });
      clients.push(c);
      return c;
    };

    before(async () => {
      reg = await startRegistry({ mode });
      proxy = await startFaultProxy({ url: reg.url, ...(reg.caFile ? { caFile: reg.caFile } : {}) });
      target = await startBlobRedirectTarget(proxy);
      home = await mkdtemp(join(tmpdir(), 'tarpush-leaks-home-'));
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await target?.stop();
      await proxy?.stop();
      await reg?.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('keeps credentials out of errors, events and foreign hosts', async () => {
      const admin = make({ ...reg.users.admin });
      const repo = admin.repository('leak/app');
      const b = randomBlob(300_000);
      await repo.putBlob(b.digest, b.source);
      proxy.setRules([{ kind: 'redirect-blobs', to: target.url }]);
      assert.deepEqual(await repo.getBlobBytes(b.digest, 1 << 20), b.data);
      proxy.setRules([
        { kind: 'status', status: 500, match: { path: /\/manifests\// }, body: `{"errors":[{"code":"UNKNOWN","message":"echo: ${reg.users.admin.password}"}]}` },
      ]);
      await rec.rejects(repo.getManifest('v1'), 'REGISTRY_ERROR');
      proxy.setRules([{ kind: 'status', status: 403, match: { method: 'POST' } }]);
      await rec.rejects(repo.putBlob(randomBlob(10).digest, randomBlob(10).source), 'AUTH_DENIED');
      proxy.setRules([{ kind: 'reset-after', bytes: 0, match: { path: /\/blobs\// } }]);
      await rec.rejects(repo.getBlobBytes(b.digest, 1 << 20), 'NETWORK_ERROR');
      proxy.setRules([]);

      const wrong = make({ username: reg.users.admin.username, password: `${reg.users.admin.password}-wrong` });
      await rec.rejects(wrong.repository('leak/app').hasBlob(b.digest), 'CREDENTIALS_INVALID');
      const reader = make({ ...reg.users.reader });
      if (mode === 'token') {
        await rec.rejects(reader.repository('leak/app').putBlob(randomBlob(20).digest, randomBlob(20).source), 'AUTH_DENIED');
        await rec.rejects(collect(reader.catalog()), 'AUTH_DENIED');
      } else {
        assert.ok(await reader.repository('leak/app').hasBlob(b.digest));
      }
      const anon = make({});
      await rec.rejects(anon.repository('leak/app').hasBlob(b.digest), 'AUTH_REQUIRED');

      assert.ok(rec.errors.length >= 5);
      assert.ok(rec.events.length > 20);
      const secrets = secretsOf(reg, [...proxy.requests, ...target.requests]);
      assert.ok(secrets.length >= 4 + (mode === 'token' ? 1 : 0), 'tokens were seen and are checked too');
      assertNoSecrets(rec, [...secrets, `${reg.users.admin.password}-wrong`]);
      assertNoForeignAuthorization([...proxy.requests, ...target.requests]);
      assert.ok(target.requests.length >= 1);
    });
  });
}
