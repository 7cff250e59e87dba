import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startRegistry, type RegistryHandle } from './registry.js';
import { startBlobRedirectTarget, startFaultProxy, type FaultProxyHandle } from './proxy.js';
import { basicAuth, fetchToken, plainFetch, uploadBlobPlain } from './plain-http.js';
import { blobOf } from './tiny-image.js';

const f = plainFetch();

describe('proxy in front of the token registry', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
  });
  after(async () => {
    await proxy.stop();
    await reg.stop();
  });
  beforeEach(() => {
    proxy.setRules([]);
    proxy.requests.length = 0;
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('passes challenges (realm = the token server) and tokens through, and records them', async () => {
    const res = await f(`${proxy.url}/v2/`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', new RegExp(`realm="${reg.tokenServer!.realm}"`));
    const token = await fetchToken(reg, ['repository:tok/app:pull,push'], reg.users.admin);
    const blob = blobOf(randomBytes(1000));
    assert.equal((await uploadBlobPlain(f, proxy.url, 'tok/app', blob, bearer(token))).status, 201);
    assert.ok(proxy.requests.every((r) => r.path === '/v2/' || r.headers.authorization === `Bearer ${token}`));
  });

  test('expire-token answers 401 invalid_token to tokens from before arming; a new token passes', async () => {
    const old = await fetchToken(reg, ['repository:exp/app:pull'], reg.users.admin);
    assert.equal((await f(`${proxy.url}/v2/exp/app/tags/list`, { headers: bearer(old) })).status, 404, 'seen by the proxy, valid');
    proxy.setRules([{ kind: 'expire-token' }]);
    const refused = await f(`${proxy.url}/v2/exp/app/tags/list`, { headers: bearer(old) });
    assert.equal(refused.status, 401);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.match(challenge, new RegExp(`realm="${reg.tokenServer!.realm}"`));
    assert.match(challenge, new RegExp(`service="${reg.tokenServer!.service}"`));
    assert.match(challenge, /scope="repository:exp\/app:pull"/);
    assert.match(challenge, /error="invalid_token"/);
    assert.equal((await f(`${proxy.url}/v2/exp/app/tags/list`, { headers: bearer(old) })).status, 401, 'still expired');
    const fresh = await fetchToken(reg, ['repository:exp/app:pull'], reg.users.admin);
    assert.equal((await f(`${proxy.url}/v2/exp/app/tags/list`, { headers: bearer(fresh) })).status, 404);
  });

  test('expire-token with times: 1 forces exactly one 401', async () => {
    const token = await fetchToken(reg, [], reg.users.admin);
    assert.equal((await f(`${proxy.url}/v2/`, { headers: bearer(token) })).status, 200);
    proxy.setRules([{ kind: 'expire-token', times: 1 }]);
    assert.equal((await f(`${proxy.url}/v2/`, { headers: bearer(token) })).status, 401);
    assert.equal((await f(`${proxy.url}/v2/`, { headers: bearer(token) })).status, 200);
  });

  test('expire-token also catches a token the proxy never saw, by its iat', async () => {
    const token = await fetchToken(reg, [], reg.users.admin);
    await new Promise((r) => setTimeout(r, 1005 - (Date.now() % 1000))); // into the next second
    proxy.setRules([{ kind: 'expire-token' }]);
    assert.equal((await f(`${proxy.url}/v2/`, { headers: bearer(token) })).status, 401);
  });

  test('a 401 status rule without headers carries a Bearer challenge with the scope', async () => {
    proxy.setRules([{ kind: 'status', status: 401, times: 1 }]);
    const res = await f(`${proxy.url}/v2/some/repo/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+",service="[^"]+",scope="repository:some\/repo:pull,push"$/);
  });

  test('redirect-blobs: the second origin gets no Authorization and refuses one with 400', async () => {
    const token = await fetchToken(reg, ['repository:s3/app:pull,push'], reg.users.admin);
    const blob = blobOf(randomBytes(2048));
    assert.equal((await uploadBlobPlain(f, reg.url, 's3/app', blob, bearer(token))).status, 201);
    const target = await startBlobRedirectTarget(reg);
    try {
      proxy.setRules([{ kind: 'redirect-blobs', to: target.url }]);
      assert.equal((await f(`${proxy.url}/v2/s3/app/blobs/${blob.digest}`)).status, 401, 'no token: no redirect');
      const res = await f(`${proxy.url}/v2/s3/app/blobs/${blob.digest}`, { headers: bearer(token) });
      assert.equal(res.status, 307);
      const location = res.headers.get('location')!;
      // what a careful client does: follow without the registry's credentials
      const got = await f(location);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), blob.data);
      const head = await f(location, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(blob.size));
      // what a leaky client does
      const leaked = await f(location, { headers: bearer(token) });
      assert.equal(leaked.status, 400);
      assert.deepEqual(
        target.requests.map((r) => [r.method, r.headers.authorization === undefined, r.status]),
        [['GET', true, 200], ['HEAD', true, 200], ['GET', false, 400]],
      );
    } finally {
      await target.stop();
    }
  });
});

describe('proxy in front of the htpasswd TLS registry', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd-tls' });
    proxy = await startFaultProxy({ url: reg.url, caFile: reg.caFile! });
  });
  after(async () => {
    await proxy.stop();
    await reg.stop();
  });

  test('forwards over verified TLS and rewrites https Locations to the plain-http proxy', async () => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(proxy.url, `http://${proxy.host}`);
    const auth = { authorization: basicAuth(reg.users.admin) };
    const start = await f(`${proxy.url}/v2/tls/app/blobs/uploads/`, { method: 'POST', headers: auth });
    assert.equal(start.status, 202);
    assert.ok(start.headers.get('location')!.startsWith(`${proxy.url}/v2/tls/app/blobs/uploads/`));
    await start.arrayBuffer();
    const blob = blobOf(randomBytes(3000));
    const put = await uploadBlobPlain(f, proxy.url, 'tls/app', blob, auth);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `${proxy.url}/v2/tls/app/blobs/${blob.digest}`);
    const recorded = JSON.stringify(proxy.requests);
    assert.ok(recorded.includes(auth.authorization), 'the record keeps headers so tests can look for leaks');
  });
});
