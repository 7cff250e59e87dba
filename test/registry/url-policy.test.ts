import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { checkHandedUrl, isLinkLocalOrMetadata, mayCarryCredentials } from '../../src/registry/url-policy.js';
import { json, startScriptedRegistry, type ScriptedRegistry } from '../support/scripted-registry.js';
import { FAST, localNonLoopbackName, randomBlob, Recorder } from './helpers.js';

describe('url policy', () => {
  it('knows link-local and metadata addresses in every spelling', () => {
    for (const h of ['169.254.169.254', '169.254.0.1', '[fe80::1]', 'fe80::abcd', '[::ffff:169.254.169.254]', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:a9fe:a9fe', 'fd00:ec2::254', 'metadata.google.internal', 'METADATA.google.internal.', '100.100.100.200']) {
      assert.equal(isLinkLocalOrMetadata(h), true, h);
    }
    for (const h of ['127.0.0.1', '10.0.0.1', '169.255.0.1', 'example.com', '[::1]', '::ffff:10.0.0.1', 'fec0::1', 'registry.example']) {
      assert.equal(isLinkLocalOrMetadata(h), false, h);
    }
  });

  it('lets credentials travel over https, or plain http to this machine only', () => {
    assert.equal(mayCarryCredentials(new URL('https://reg.example/v2/')), true);
    assert.equal(mayCarryCredentials(new URL('http://127.0.0.1:5000/token')), true);
    assert.equal(mayCarryCredentials(new URL('http://localhost/token')), true);
    assert.equal(mayCarryCredentials(new URL('http://[::1]:5000/')), true);
    assert.equal(mayCarryCredentials(new URL('http://reg.example/token')), false);
    assert.equal(mayCarryCredentials(new URL('http://10.0.0.5:5000/')), false);
    assert.equal(mayCarryCredentials(new URL('ftp://127.0.0.1/')), false);
  });

  it('refuses a handed URL at a metadata address, unless it is the host the user named', () => {
    assert.throws(() => checkHandedUrl(new URL('http://169.254.169.254/latest/meta-data/'), 'the redirect', 'reg.example'), /link-local or cloud metadata/);
    assert.equal(checkHandedUrl(new URL('http://169.254.10.10:5000/v2/x'), 'the Location', '169.254.10.10').hostname, '169.254.10.10');
    assert.equal(checkHandedUrl(new URL('https://storage.example/blob'), 'the redirect', 'reg.example').hostname, 'storage.example');
  });
});

describe('a registry that points elsewhere', () => {
  let reg: ScriptedRegistry;
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  const client = (host: string, opts: ConstructorParameters<typeof RegistryClient>[1] = {}) => {
    const c = new RegistryClient(host, { ...FAST, retries: 1, env: {}, homeDir: '/nonexistent', log: rec.log, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    reg = await startScriptedRegistry((req, res) => {
      if (req.path === '/v2/') return json(res, 200, {});
      if (req.path.startsWith('/v2/redirect/blobs/')) {
        res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/iam/' });
        return res.end();
      }
      if (req.path.startsWith('/v2/upload/blobs/uploads/')) {
        res.writeHead(202, { location: 'http://[::ffff:169.254.169.254]/upload/1', 'content-length': '0' });
        return res.end();
      }
      return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await reg?.stop();
  });

  it('refuses a blob redirect to the metadata service', async () => {
    const b = randomBlob(10);
    const err = await rec.rejects(client(reg.host).repository('redirect').getBlobBytes(b.digest, 1000), 'REGISTRY_ERROR');
    assert.match(err.message, /link-local or cloud metadata address \(http:\/\/169\.254\.169\.254\/latest\/meta-data\/iam\/\); refused/);
  });

  it('refuses an upload Location at an IPv4-mapped metadata address', async () => {
    const b = randomBlob(2 << 20);
    const err = await rec.rejects(client(reg.host).repository('upload').putBlob(b.digest, b.source), 'REGISTRY_ERROR');
    assert.match(err.message, /Location .* link-local or cloud metadata address/);
  });

  it('refuses a token realm at the metadata service', async () => {
    const realm = await startScriptedRegistry((req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://169.254.169.254/token",service="x"', 'content-length': '0' });
      res.end();
    });
    try {
      const err = await rec.rejects(client(realm.host).repository('a').hasBlob(randomBlob(1).digest), 'REGISTRY_ERROR');
      assert.match(err.message, /token realm points at a link-local or cloud metadata address/);
    } finally {
      await realm.stop();
    }
  });

  it('never sends the password to an http realm on the https registry\'s own host and port', async (t) => {
    const name = await localNonLoopbackName();
    if (!name) return t.skip('no local host name that resolves to 127.x');
    let realmUrl = '';
    const both = await startScriptedRegistry(
      (req, res) => {
        if (req.path.startsWith('/token')) return json(res, 200, { token: 'issued-token-value' });
        if (req.authorization === 'Bearer issued-token-value') return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realmUrl}",service="svc"`, 'content-length': '0' });
        res.end();
      },
      { tls: true },
    );
    realmUrl = `http://${name}:${both.port}/token`;
    try {
      const c = client(`${name}:${both.port}`, { username: 'alice', password: 'clear-text-never-1', insecure: true });
      const err = await rec.rejects(c.repository('a').hasBlob(randomBlob(1).digest), 'REGISTRY_ERROR');
      assert.match(err.message, /credentials would go over plain http/);
      assert.ok(both.requests.some((r) => r.tls), 'the registry was reached over https');
      assert.deepEqual(
        both.requests.filter((r) => r.path.startsWith('/token')),
        [],
        'the token realm never saw a request',
      );
    } finally {
      await both.stop();
    }
  });
});
