import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  REGISTRY_EXP_LEEWAY_SECONDS,
  grantAccess,
  libtrustKeyId,
  parseScope,
  startTokenServer,
  type TokenServerHandle,
} from './token-server.js';

const admin = { username: 'ada', password: 'ada-secret-pw' };
const reader = { username: 'rex', password: 'rex-secret-pw' };
let dir: string;
let ts: TokenServerHandle;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-token-test-'));
  ts = await startTokenServer({
    dir,
    service: 'svc.test',
    issuer: 'issuer.test',
    accounts: [
      { ...admin, allow: [{ type: 'repository', name: '*', actions: ['pull', 'push', 'delete'] }, { type: 'registry', name: 'catalog', actions: ['*'] }] },
      { ...reader, allow: [{ type: 'repository', name: 'team/*', actions: ['pull'] }] },
    ],
    anonymous: [{ type: 'repository', name: 'public/*', actions: ['pull'] }],
  });
});
after(async () => {
  await ts.stop();
  await rm(dir, { recursive: true, force: true });
});

const basic = (u: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

function decode(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signingInput: string; signature: Buffer } {
  const [h, c, s] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>,
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

async function getToken(query: string, auth?: string): Promise<Response> {
  return fetch(`${ts.realm}?${query}`, { headers: auth ? { authorization: auth } : {} });
}

test('tokens are ES256 JWTs signed by the certificate in certFile, with a libtrust kid', async () => {
  const res = await getToken('service=svc.test&scope=repository:team/app:pull,push', basic(admin));
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.token, body.access_token);
  assert.equal(body.expires_in, 300);
  assert.ok(!Number.isNaN(Date.parse(String(body.issued_at))));
  const { header, claims, signingInput, signature } = decode(String(body.token));
  const cert = new X509Certificate(await readFile(ts.certFile));
  assert.deepEqual(header, { typ: 'JWT', alg: 'ES256', kid: libtrustKeyId(cert.publicKey) });
  assert.match(String(header.kid), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  assert.equal(signature.length, 64, 'r‖s, not DER');
  assert.equal(verify('sha256', Buffer.from(signingInput), { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, signature), true);
  assert.equal(claims.iss, 'issuer.test');
  assert.equal(claims.aud, 'svc.test');
  assert.equal(claims.sub, 'ada');
  assert.equal(claims.nbf, claims.iat);
  assert.equal(Number(claims.exp) - Number(claims.iat), 300 - REGISTRY_EXP_LEEWAY_SECONDS);
  assert.match(String(claims.jti), /^[0-9a-f]{24}$/);
  assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
});

test('grants the intersection of asked and allowed scopes', async () => {
  const access = async (query: string, auth?: string) =>
    decode(String(((await (await getToken(query, auth)).json()) as { token: string }).token)).claims.access;
  // repeated scope parameters and space-separated scopes in one parameter
  assert.deepEqual(
    await access('scope=repository:team/app:pull,push,delete&scope=repository:other/app:pull registry:catalog:*', basic(reader)),
    [{ type: 'repository', name: 'team/app', actions: ['pull'] }],
  );
  assert.deepEqual(await access('scope=registry:catalog:*', basic(admin)), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  assert.deepEqual(await access('scope=repository:public/x:pull,push&scope=repository:team/app:pull'), [
    { type: 'repository', name: 'public/x', actions: ['pull'] },
  ]);
  assert.deepEqual(await access(''), []);
});

test('refuses wrong credentials and a foreign service', async () => {
  const bad = await getToken('service=svc.test', basic({ username: 'ada', password: 'nope' }));
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate') ?? '', /^Basic /);
  assert.equal((await getToken('service=other')).status, 400);
});

test('OAuth2 POST: password grant, offline refresh token, refresh grant', async () => {
  const post = (form: Record<string, string>) =>
    fetch(ts.realm, { method: 'POST', body: new URLSearchParams(form) });

  assert.equal((await post({ grant_type: 'password', username: 'ada', password: admin.password })).status, 400, 'client_id required');
  assert.equal((await post({ grant_type: 'password', username: 'ada', password: 'nope', client_id: 't' })).status, 401);
  assert.equal((await post({ grant_type: 'magic', client_id: 't' })).status, 400);

  const first = await post({
    grant_type: 'password', username: 'ada', password: admin.password, client_id: 'tarpush',
    service: 'svc.test', scope: 'repository:a/b:pull repository:c/d:push', access_type: 'offline',
  });
  assert.equal(first.status, 200);
  const body = (await first.json()) as Record<string, unknown>;
  assert.equal(body.token, undefined, 'the OAuth2 form answers access_token only');
  assert.equal(typeof body.access_token, 'string');
  assert.equal(body.scope, 'repository:a/b:pull repository:c/d:push');
  assert.equal(typeof body.refresh_token, 'string');

  const refreshed = await post({
    grant_type: 'refresh_token', refresh_token: String(body.refresh_token), client_id: 'tarpush',
    service: 'svc.test', scope: 'repository:e/f:pull,push',
  });
  assert.equal(refreshed.status, 200);
  const again = (await refreshed.json()) as Record<string, unknown>;
  assert.equal(again.refresh_token, undefined, 'no new refresh token without access_type=offline');
  assert.deepEqual(decode(String(again.access_token)).claims.access, [{ type: 'repository', name: 'e/f', actions: ['pull', 'push'] }]);
  assert.equal(decode(String(again.access_token)).claims.sub, 'ada');

  assert.equal((await post({ grant_type: 'refresh_token', refresh_token: 'forged', client_id: 't' })).status, 401);

  ts.setOAuthPostEnabled(false);
  try {
    assert.equal((await post({ grant_type: 'password', username: 'ada', password: admin.password, client_id: 't' })).status, 404);
  } finally {
    ts.setOAuthPostEnabled(true);
  }
});

test('GET with offline_token=true also hands out a refresh token', async () => {
  const res = await getToken('service=svc.test&offline_token=true', basic(admin));
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(typeof body.refresh_token, 'string');
});

test('counts issued tokens, applies the lifetime, and records requests without secrets', async () => {
  const before = ts.issued;
  ts.setTokenLifetime(7);
  try {
    const body = (await (await getToken('service=svc.test', basic(reader))).json()) as { expires_in: number; token: string };
    assert.equal(body.expires_in, 7);
    const { claims } = decode(body.token);
    assert.equal(Number(claims.exp) - Number(claims.iat), 7 - REGISTRY_EXP_LEEWAY_SECONDS);
  } finally {
    ts.setTokenLifetime(300);
  }
  assert.equal(ts.issued, before + 1);
  const last = ts.requests.at(-1)!;
  assert.deepEqual({ method: last.method, via: last.via, account: last.account, status: last.status }, { method: 'GET', via: 'basic', account: 'rex', status: 200 });
  const recorded = JSON.stringify(ts.requests);
  for (const secret of [admin.password, reader.password]) assert.ok(!recorded.includes(secret));
});

test('parseScope and grantAccess handle names with ports and unknown scopes', () => {
  assert.deepEqual(parseScope('repository:localhost:5000/app:pull'), { type: 'repository', name: 'localhost:5000/app', actions: ['pull'] });
  assert.equal(parseScope('garbage'), undefined);
  assert.deepEqual(grantAccess(['garbage', 'repository:x:pull'], [{ type: 'repository', name: 'x', actions: ['pull'] }]), [
    { type: 'repository', name: 'x', actions: ['pull'] },
  ]);
});
