import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveOptions } from '../../src/registry/options.js';
import { renewMargin, TokenCache, TokenFetcher } from '../../src/registry/token.js';
import { Transport } from '../../src/registry/transport.js';
import { startTokenServer, type TokenServerHandle } from '../support/token-server.js';
import { assertNoSecrets, FAST, Recorder } from './helpers.js';

describe('TokenCache', () => {
  const endpoint = { realm: 'https://auth.example/token', service: 'reg' };
  const token = (scopes: string[], lifetimeMs = 60_000, at = 0) => ({ value: `t-${scopes.join('+')}`, expiresAt: at + lifetimeMs, lifetimeMs, scopes });

  it('reuses a token for any request whose scopes it covers', async () => {
    const cache = new TokenCache(() => 0);
    let fetches = 0;
    const push = await cache.obtain(endpoint, ['repository:a:pull,push'], async () => (fetches++, token(['repository:a:pull,push'])));
    const pull = await cache.obtain(endpoint, ['repository:a:pull'], async () => (fetches++, token(['repository:a:pull'])));
    assert.equal(pull, push);
    assert.equal(fetches, 1);
    await cache.obtain(endpoint, ['repository:b:pull'], async () => (fetches++, token(['repository:b:pull'])));
    await cache.obtain({ ...endpoint, service: 'other' }, ['repository:a:pull'], async () => (fetches++, token(['repository:a:pull'])));
    assert.equal(fetches, 3, 'other repositories and other services get their own tokens');
  });

  it('shares one fetch between concurrent callers', async () => {
    const cache = new TokenCache(() => 0);
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 10));
      return token(['repository:a:pull']);
    };
    const got = await Promise.all([1, 2, 3].map(() => cache.obtain(endpoint, ['repository:a:pull'], fetch)));
    assert.equal(fetches, 1);
    assert.ok(got.every((t) => t === got[0]));
  });

  it('renews shortly before expiry and after clear()', async () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    let fetches = 0;
    const fetch = async () => (fetches++, token(['repository:a:pull'], 60_000, now));
    await cache.obtain(endpoint, ['repository:a:pull'], fetch);
    now = 60_000 - renewMargin(60_000) - 1;
    await cache.obtain(endpoint, ['repository:a:pull'], fetch);
    assert.equal(fetches, 1, 'still fresh just before the margin');
    now += 2;
    await cache.obtain(endpoint, ['repository:a:pull'], fetch);
    assert.equal(fetches, 2, 'renewed inside the margin');
    cache.clear();
    await cache.obtain(endpoint, ['repository:a:pull'], fetch);
    assert.equal(fetches, 3);
    assert.equal(renewMargin(60_000), 6_000);
    assert.equal(renewMargin(3_600_000), 30_000);
  });
});

describe('TokenFetcher against a token server', () => {
  let dir: string;
  let server: TokenServerHandle;
  const rec = new Recorder();
  const opts = resolveOptions({ ...FAST, log: rec.log });
  const transport = new Transport('127.0.0.1:5000', opts);
  const fetcher = new TokenFetcher(transport, opts, '127.0.0.1:5000');
  const user = { username: 'alice', password: 'alice-secret-pw-1' };
  const endpoint = () => ({ realm: server.realm, service: server.service });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tarpush-token-test-'));
    server = await startTokenServer({
      dir,
      service: 'svc',
      issuer: 'iss',
      accounts: [{ ...user, allow: [{ type: 'repository', name: '*', actions: ['pull', 'push'] }] }],
      anonymous: [{ type: 'repository', name: 'public/*', actions: ['pull'] }],
      lifetimeSeconds: 120,
    });
  });
  after(async () => {
    await transport.close();
    assertNoSecrets(rec, [user.password, Buffer.from(`${user.username}:${user.password}`).toString('base64')]);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the OAuth2 POST form with a password, client_id tarpush and space-separated scopes', async () => {
    const before = server.requests.length;
    const t = await fetcher.fetch(endpoint(), ['repository:b:pull', 'repository:a:pull,push'], { kind: 'basic', ...user, source: 'flag' });
    const r = server.requests.slice(before);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.method, 'POST');
    assert.equal(r[0]!.via, 'password');
    assert.deepEqual(r[0]!.scopes, ['repository:a:pull,push', 'repository:b:pull']);
    assert.ok(t.value.length > 20);
    assert.equal(t.lifetimeMs, 120_000);
    const claims = JSON.parse(Buffer.from(t.value.split('.')[1]!, 'base64url').toString('utf8')) as { access: unknown[] };
    assert.equal(claims.access.length, 2);
  });

  it('falls back to GET with Basic credentials when the POST form is refused, and remembers it', async () => {
    server.setOAuthPostEnabled(false);
    const own = new TokenFetcher(transport, opts, '127.0.0.1:5000');
    try {
      const before = server.requests.length;
      const fallbacks = rec.of('fallback').length;
      await own.fetch(endpoint(), ['repository:a:pull'], { kind: 'basic', ...user, source: 'flag' });
      await own.fetch(endpoint(), ['repository:a:push'], { kind: 'basic', ...user, source: 'flag' });
      // (the refused POST is answered 404 before the server records anything)
      const r = server.requests.slice(before);
      assert.deepEqual(
        r.map((x) => `${x.method} ${x.via} ${x.status}`),
        ['GET basic 200', 'GET basic 200'],
      );
      const fb = rec.of('fallback').slice(fallbacks);
      assert.deepEqual(fb.map((e) => e.what), ['token-get'], 'the POST was tried once, then remembered as refused');
    } finally {
      server.setOAuthPostEnabled(true);
    }
  });

  it('fetches anonymously with GET', async () => {
    const before = server.requests.length;
    const t = await fetcher.fetch(endpoint(), ['repository:public/x:pull'], undefined);
    assert.equal(server.requests[before]!.via, 'anonymous');
    assert.equal(t.lifetimeMs, 120_000);
  });

  it('says CREDENTIALS_INVALID for a wrong password, without the password', async () => {
    const err = await rec.rejects(
      fetcher.fetch(endpoint(), ['repository:a:pull'], { kind: 'basic', username: 'alice', password: 'wrong-password-123', source: 'flag' }),
      'CREDENTIALS_INVALID',
    );
    assert.equal(err.details.phase, 'token');
    assert.ok(!err.message.includes('wrong-password-123'));
    assert.match(err.message, /from --username and --password-stdin/);
  });

  it('refuses to send a secret to a plain-http realm on another host', async () => {
    await rec.rejects(
      fetcher.fetch({ realm: 'http://auth.example.invalid/token' }, ['repository:a:pull'], { kind: 'basic', ...user, source: 'flag' }),
      'REGISTRY_ERROR',
    );
  });
});
