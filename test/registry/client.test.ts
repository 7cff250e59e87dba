import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { MediaType } from '../../src/image/media-types.js';
import { clientFor, closeSharedClients, RegistryClient, type ClientOptions } from '../../src/registry/index.js';
import { makeTestCA } from '../support/certs.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { bufferSource } from '../../src/image/sources.js';
import { assertNoSecrets, collect, digestOf, FAST, localNonLoopbackName, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';

/** Options that keep the machine's own docker/podman logins out of the tests. */
let isolatedHome: string;
const isolated = (): Pick<ClientOptions, 'homeDir' | 'env'> => ({ homeDir: isolatedHome, env: { PATH: process.env.PATH ?? '' } });

before(async () => {
  isolatedHome = await mkdtemp(join(tmpdir(), 'tarpush-client-home-'));
});
after(async () => {
  await rm(isolatedHome, { recursive: true, force: true });
});

describe('clientFor', () => {
  it('shares one client per registry and options object, normalising Docker Hub names', async () => {
    const opts: ClientOptions = { ...FAST };
    const a = clientFor('localhost:5999', opts);
    assert.equal(clientFor('LOCALHOST:5999', opts), a);
    assert.notEqual(clientFor('localhost:5999', { ...FAST }), a);
    assert.notEqual(clientFor('localhost:5999'), a);
    assert.equal(clientFor('docker.io').registry, 'registry-1.docker.io');
    assert.equal(clientFor('index.docker.io'), clientFor('docker.io'));
    await a.close();
    assert.notEqual(clientFor('localhost:5999', opts), a, 'a closed client is not handed out again');
    await closeSharedClients();
  });

  it('rejects invalid registry and repository names as REFERENCE_INVALID', () => {
    assert.throws(() => new RegistryClient('bad host'), (e: Error & { code?: string }) => e.code === 'REFERENCE_INVALID');
    const c = new RegistryClient('localhost:5999');
    assert.throws(() => c.repository('Upper/Case'), (e: Error & { code?: string }) => e.code === 'REFERENCE_INVALID');
    void c.close();
  });
});

describe('anonymous registry over plain HTTP', () => {
  let reg: RegistryHandle;
  const rec = new Recorder();
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    assertNoSecrets(rec, secretsOf(reg));
    await reg?.stop();
  });

  it('falls back from https to http for a loopback registry, once', async () => {
    const client = new RegistryClient(reg.host, { ...FAST, log: rec.log });
    try {
      await client.ping();
      await client.ping();
      const fb = rec.of('fallback').filter((e) => e.what === 'http');
      assert.equal(fb.length, 1);
      assert.equal((await client.baseUrl()).protocol, 'http:');
      const b = randomBlob(1000);
      await client.repository('anon/app').putBlob(b.digest, b.source);
      assert.ok(await client.repository('anon/app').hasBlob(b.digest));
    } finally {
      await client.close();
    }
  });

  it('goes straight to http with plainHttp', async () => {
    const r = new Recorder();
    const client = new RegistryClient(reg.host, { ...FAST, plainHttp: true, log: r.log });
    try {
      await client.ping();
      assert.equal(r.of('fallback').length, 0);
      assert.deepEqual(
        r.of('request').map((e) => `${e.method} ${e.url} ${e.status}`),
        [`GET http://${reg.host}/v2/ 200`],
      );
    } finally {
      await client.close();
    }
  });

  it('does not fall back to http for a host that is not loopback', async (t) => {
    const name = await localNonLoopbackName();
    if (!name) return t.skip('no local host name that resolves to 127.x');
    const client = new RegistryClient(`${name}:${reg.host.split(':')[1]}`, { ...FAST, retries: 0 });
    try {
      await rec.rejects(client.ping(), 'NETWORK_ERROR');
    } finally {
      await client.close();
    }
  });

  it('sends the tarpush User-Agent', async () => {
    const proxy = await startFaultProxy({ url: reg.url });
    const client = new RegistryClient(proxy.host, { ...FAST, plainHttp: true });
    try {
      await client.ping();
      assert.match(String(proxy.requests[0]!.headers['user-agent']), /^tarpush\/\d+\.\d+\.\d+/);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });
});

describe('htpasswd registry over TLS', () => {
  let reg: RegistryHandle;
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  const make = (opts: ClientOptions) => {
    const c = new RegistryClient(reg.host, { ...FAST, ...isolated(), log: rec.log, ...opts });
    clients.push(c);
    return c;
  };
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd-tls' });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    assertNoSecrets(rec, secretsOf(reg));
    await reg?.stop();
  });

  it('works with the CA file and Basic credentials', async () => {
    const client = make({ caFile: reg.caFile!, username: reg.users.admin.username, password: reg.users.admin.password });
    const repo = client.repository('tls/app');
    const b = randomBlob(5000);
    await repo.putBlob(b.digest, b.source);
    assert.deepEqual(await repo.getBlobBytes(b.digest, 10_000), b.data);
    assert.equal((await client.baseUrl()).protocol, 'https:');
    assert.deepEqual(
      rec.of('auth').map((e) => [e.scheme, e.credential]),
      [['basic', 'flag']],
    );
  });

  it('finds Basic credentials in an auth file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tarpush-authfile-'));
    try {
      const authfile = join(dir, 'auth.json');
      const { username, password } = reg.users.reader;
      await writeFile(authfile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }));
      const r = new Recorder();
      const client = make({ caFile: reg.caFile!, authfile, log: r.log });
      assert.equal(await client.repository('tls/app').hasBlob(`sha256:${'2'.repeat(64)}`), false);
      assert.deepEqual(r.of('auth').map((e) => e.scheme), ['basic']);
      assert.match(String(r.of('auth')[0]!.credential), /auth\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an untrusted certificate instead of downgrading to http', async () => {
    const r = new Recorder();
    const client = make({ log: r.log, username: reg.users.admin.username, password: reg.users.admin.password });
    const err = await rec.rejects(client.ping(), 'NETWORK_ERROR');
    assert.match(err.message, /--ca-file/);
    assert.equal(r.of('fallback').length, 0);
  });

  it('trusts the CA file in addition to NODE_EXTRA_CA_CERTS, not instead of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tarpush-other-ca-'));
    try {
      const other = await makeTestCA(dir);
      const creds = { username: reg.users.admin.username, password: reg.users.admin.password };
      const both = make({ ...creds, caFile: other.caFile, env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: reg.caFile! } });
      await both.ping();
      const onlyOther = make({ ...creds, caFile: other.caFile });
      await rec.rejects(onlyOther.ping(), 'NETWORK_ERROR');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips verification with insecure', async () => {
    const client = make({ insecure: true, username: reg.users.admin.username, password: reg.users.admin.password });
    await client.ping();
    assert.equal(await client.repository('tls/app').hasBlob(`sha256:${'2'.repeat(64)}`), false);
  });

  it('says AUTH_REQUIRED without credentials and CREDENTIALS_INVALID with a wrong password', async () => {
    const anon = make({ caFile: reg.caFile! });
    const e1 = await rec.rejects(anon.repository('tls/app').hasBlob(`sha256:${'2'.repeat(64)}`), 'AUTH_REQUIRED');
    assert.equal(e1.exitCode, ExitCode.auth);
    const wrong = make({ caFile: reg.caFile!, username: reg.users.admin.username, password: 'not-the-password' });
    const e2 = await rec.rejects(wrong.repository('tls/app').hasBlob(`sha256:${'2'.repeat(64)}`), 'CREDENTIALS_INVALID');
    assert.equal(e2.details.status, 401);
    assert.ok(!e2.message.includes('not-the-password'));
  });
});

describe('token-auth registry', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  const as = (who: 'admin' | 'reader' | 'anonymous', opts: ClientOptions = {}) => {
    const user = who === 'anonymous' ? {} : { username: reg.users[who].username, password: reg.users[who].password };
    const c = new RegistryClient(proxy.host, { ...FAST, ...isolated(), log: rec.log, ...user, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  it('pushes and pulls as admin with bearer tokens from the OAuth2 POST', async () => {
    const client = as('admin');
    const repo = client.repository('tok/app');
    const b = randomBlob(2 << 20);
    await repo.putBlob(b.digest, b.source);
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const cfg = { digest: digestOf(config) };
    await repo.putBlob(cfg.digest, bufferSource(config, 'config'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: config.length },
        layers: [{ mediaType: MediaType.ociLayerGzip, digest: b.digest, size: b.size }],
      }),
    );
    const digest = await repo.putManifest('v1', manifest, MediaType.ociManifest);
    assert.deepEqual((await repo.getManifest('v1')).raw, manifest);
    assert.equal((await repo.headManifest(digest))?.digest, digest);
    const viaPost = reg.tokenServer!.requests.filter((r) => r.method === 'POST' && r.via === 'password' && r.account === reg.users.admin.username);
    assert.ok(viaPost.length >= 1);
    assert.ok(viaPost.every((r) => r.status === 200));
    // one token covers pushes and the later pulls of the same repository
    assert.ok(viaPost.length <= 2, `expected few tokens, got ${viaPost.length}`);
  });

  it('lets the reader pull but not push: AUTH_DENIED (exit 3) naming the scope', async () => {
    const admin = as('admin');
    const b = randomBlob(3000);
    await admin.repository('tok/shared').putBlob(b.digest, b.source);
    const reader = as('reader');
    const repo = reader.repository('tok/shared');
    assert.deepEqual(await repo.getBlobBytes(b.digest, 10_000), b.data);
    const c = randomBlob(3000);
    const err = await rec.rejects(repo.putBlob(c.digest, c.source), 'AUTH_DENIED');
    assert.equal(err.exitCode, ExitCode.auth);
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /repository:tok\/shared:pull,push/);
  });

  it('says AUTH_REQUIRED to an anonymous client', async () => {
    const err = await rec.rejects(as('anonymous').repository('tok/app').hasBlob(`sha256:${'3'.repeat(64)}`), 'AUTH_REQUIRED');
    assert.equal(err.details.status, 401);
  });

  it('re-authenticates once when a token expires mid-operation', async () => {
    const client = as('admin');
    const repo = client.repository('tok/expiry');
    const a = randomBlob(1 << 20);
    await repo.putBlob(a.digest, a.source);
    const issuedBefore = reg.tokenServer!.issued;
    proxy.setRules([{ kind: 'expire-token' }]);
    try {
      const b = randomBlob(2 << 20);
      await repo.putBlob(b.digest, b.source);
      assert.ok(await repo.hasBlob(b.digest));
      const refused = proxy.requests.filter((r) => r.status === 401 && /tok\/expiry/.test(r.path));
      assert.equal(refused.length, 1, 'one 401, then a fresh token');
      assert.equal(reg.tokenServer!.issued, issuedBefore + 1);
    } finally {
      proxy.setRules([]);
    }
  });

  it('renews a token before it expires, without meeting a 401', async () => {
    reg.tokenServer!.setTokenLifetime(1);
    try {
      const client = as('admin');
      const repo = client.repository('tok/short');
      const a = randomBlob(1000);
      await repo.putBlob(a.digest, a.source);
      const issued = reg.tokenServer!.issued;
      await new Promise((r) => setTimeout(r, 1100));
      assert.ok(await repo.hasBlob(a.digest));
      assert.equal(reg.tokenServer!.issued, issued + 1);
      assert.equal(recorded(proxy.requests, 'HEAD', /tok\/short/).filter((r) => r.status === 401).length, 0);
    } finally {
      reg.tokenServer!.setTokenLifetime(300);
    }
  });

  it('uses a docker config identitytoken as an OAuth2 refresh token', async () => {
    // get a refresh token the way `docker login` does (access_type=offline)
    const form = new URLSearchParams({
      grant_type: 'password',
      username: reg.users.admin.username,
      password: reg.users.admin.password,
      client_id: 'test',
      service: reg.tokenServer!.service,
      access_type: 'offline',
    });
    const answer = (await (await fetch(reg.tokenServer!.realm, { method: 'POST', body: form })).json()) as { refresh_token: string };
    const dir = await mkdtemp(join(tmpdir(), 'tarpush-authfile-'));
    try {
      const authfile = join(dir, 'config.json');
      await writeFile(authfile, JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`${reg.users.admin.username}:`).toString('base64'), identitytoken: answer.refresh_token } } }));
      const before = reg.tokenServer!.requests.length;
      const client = as('anonymous', { authfile });
      const b = randomBlob(1000);
      await client.repository('tok/refresh').putBlob(b.digest, b.source);
      const used = reg.tokenServer!.requests.slice(before);
      assert.ok(used.length >= 1 && used.every((r) => r.method === 'POST' && r.via === 'refresh_token' && r.status === 200));
      assert.ok(rec.of('auth').some((e) => e.credential === authfile || String(e.credential).includes('config.json')));
      assert.ok(!JSON.stringify(rec.events).includes(answer.refresh_token));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the token GET when the server refuses the OAuth2 POST', async () => {
    reg.tokenServer!.setOAuthPostEnabled(false);
    try {
      const before = reg.tokenServer!.requests.length;
      const client = as('admin');
      assert.equal(await client.repository('tok/app').hasBlob(`sha256:${'4'.repeat(64)}`), false);
      const after = reg.tokenServer!.requests.slice(before);
      assert.ok(after.some((r) => r.method === 'GET' && r.via === 'basic' && r.status === 200));
    } finally {
      reg.tokenServer!.setOAuthPostEnabled(true);
    }
  });

  it('lists the catalog with the registry:catalog:* scope (admin), refuses the reader', async () => {
    const names = await collect(as('admin').catalog());
    assert.ok(names.includes('tok/app'));
    await rec.rejects(collect(as('reader').catalog()), 'AUTH_DENIED');
  });
});
