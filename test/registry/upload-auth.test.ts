import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, randomBlob, recorded, Recorder } from './helpers.js';

/**
 * An upload refused for want of the push right words its error as every other request does
 * (client.ts failureWithBody): a Basic login the registry accepts but that may not push is
 * AUTH_DENIED, not "the username/password was refused".
 */
describe('upload refused for want of a right', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let home: string;
  const rec = new Recorder();
  const password = 'upload-auth-secret-5151';
  let client: RegistryClient;

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    home = await mkdtemp(join(tmpdir(), 'tarpush-upload-auth-'));
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log, username: 'pusher', password, homeDir: home, env: {} });
  });
  after(async () => {
    await client.close();
    assertNoSecrets(rec, [password, Buffer.from(`pusher:${password}`).toString('base64')]);
    await proxy?.stop();
    await reg?.stop();
    await rm(home, { recursive: true, force: true });
  });

  for (const [what, opts] of [
    ['the closing PUT', {}],
    ['a PATCH chunk', { chunkSize: 1 << 20 }],
  ] as const) {
    it(`${what} answered 401 insufficient_scope after a Basic login is AUTH_DENIED`, async () => {
      const method = 'chunkSize' in opts ? 'PATCH' : 'PUT';
      proxy.setRules([
        {
          kind: 'status',
          status: 401,
          headers: { 'www-authenticate': 'Basic realm="registry", error="insufficient_scope"' },
          match: { method },
        },
      ]);
      const c = 'chunkSize' in opts ? new RegistryClient(proxy.host, { ...FAST, log: rec.log, username: 'pusher', password, homeDir: home, env: {}, ...opts }) : client;
      try {
        const repo = c.repository(`auth/${method.toLowerCase()}`);
        const b = randomBlob((2 << 20) + 7);
        const err = await rec.rejects(repo.putBlob(b.digest, b.source), 'AUTH_DENIED');
        assert.equal(err.details.status, 401);
        assert.equal(err.details.method, method);
        assert.match(err.message, /the credential from .* is not allowed/);
        const tries = recorded(proxy.requests, method, new RegExp(`^/v2/auth/${method.toLowerCase()}/`));
        assert.match(String(tries.at(-1)!.headers.authorization), /^Basic /, 'the last try carried the login');
      } finally {
        if (c !== client) await c.close();
      }
    });
  }
});
