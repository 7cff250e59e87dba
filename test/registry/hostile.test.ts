import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegistryClient, type ClientOptions } from '../../src/registry/index.js';
import { credentialSecrets, redactSecrets } from '../../src/registry/errors.js';
import { MAX_PAGES } from '../../src/registry/pagination.js';
import { json, startScriptedRegistry, trickle, type ScriptedRegistry } from '../support/scripted-registry.js';
import { collect, FAST, randomBlob, Recorder } from './helpers.js';

const USER = 'alice';
// Characters that URL-, form- and JSON-encoding each spell differently.
const PASSWORD = 'p@ss w+rd/"€"&=x1';
const REFRESH = 'refresh-token-0123456789abcdef';

/** Every spelling of our secrets a server could echo. */
const spelled = (secret: string, user: string) => [
  secret,
  encodeURIComponent(secret),
  new URLSearchParams({ s: secret }).toString().slice(2),
  JSON.stringify(secret).slice(1, -1),
  Buffer.from(`${user}:${secret}`).toString('base64'),
  Buffer.from(`:${secret}`).toString('base64'),
];

describe('redactSecrets', () => {
  it('removes raw, URL-, form- and JSON-encoded spellings and the Basic values of a credential', () => {
    const known = credentialSecrets({ kind: 'basic', username: USER, password: PASSWORD, source: 'flag' });
    for (const form of spelled(PASSWORD, USER)) {
      const out = redactSecrets(`before ${form} after`, known);
      assert.equal(out, 'before [redacted] after', form);
    }
    assert.doesNotMatch(redactSecrets('{"refresh_token":"abcdefgh1234"}'), /abcdefgh1234/);
  });
});

describe('a hostile registry', () => {
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  let home: string;
  const client = (host: string, opts: ClientOptions = {}) => {
    const c = new RegistryClient(host, { ...FAST, retries: 1, env: {}, homeDir: home, log: rec.log, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tarpush-hostile-'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await rm(home, { recursive: true, force: true });
  });

  describe('credentials go where the user sent them', () => {
    let named: ScriptedRegistry;
    let other: ScriptedRegistry;
    // Basic auth: anything authorised is let in; a HEAD of a blob answers 404
    const basic = (req: { authorization: string | undefined; path: string }, res: import('node:http').ServerResponse) => {
      if (!req.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"', 'content-length': '0' });
        return res.end();
      }
      return req.path === '/v2/' ? json(res, 200, {}) : json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
    };
    before(async () => {
      named = await startScriptedRegistry(basic);
      other = await startScriptedRegistry(basic);
    });
    after(async () => {
      await named?.stop();
      await other?.stop();
    });

    it('sends flag and env credentials only to credentialHosts; another registry gets what the files hold', async () => {
      const digest = randomBlob(1).digest;
      const opts: ClientOptions = { username: USER, password: PASSWORD, credentialHosts: [named.host] };
      assert.equal(await client(named.host, opts).repository('a').hasBlob(digest), false);
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      assert.ok(named.requests.some((r) => r.authorization === expected), 'the named registry got the credentials');

      await rec.rejects(client(other.host, opts).repository('a').hasBlob(digest), 'AUTH_REQUIRED');
      const envOpts: ClientOptions = { env: { TARPUSH_USERNAME: USER, TARPUSH_PASSWORD: PASSWORD }, credentialHosts: [`http://${named.host}/v2/`] };
      await rec.rejects(client(other.host, envOpts).repository('a').hasBlob(digest), 'AUTH_REQUIRED');
      assert.equal(other.requests.filter((r) => r.authorization !== undefined).length, 0, 'the other registry saw no Authorization header');

      const authfile = join(home, 'auth.json');
      await writeFile(authfile, JSON.stringify({ auths: { [other.host]: { auth: Buffer.from('fileuser:filepass').toString('base64') } } }));
      assert.equal(await client(other.host, { ...opts, authfile }).repository('a').hasBlob(digest), false);
      const seen = other.requests.map((r) => r.authorization).filter((a) => a !== undefined);
      assert.ok(seen.length > 0 && seen.every((a) => a === `Basic ${Buffer.from('fileuser:filepass').toString('base64')}`), 'only the file credentials');
    });
  });

  describe('a token server echoing secrets', () => {
    let reg: ScriptedRegistry;
    before(async () => {
      reg = await startScriptedRegistry((req, res) => {
        if (req.path.startsWith('/token')) {
          // 404 on the OAuth2 POST makes the client fall back to GET with Basic, whose value is echoed
          if (req.method === 'POST') return json(res, 404, {});
          const echoed = `auth=${(req.authorization ?? '').replace(/^Basic /, '')} body=${req.body} decoded=${Buffer.from((req.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()}`;
          res.writeHead(418, { 'content-type': 'text/plain' });
          return res.end(echoed);
        }
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${reg.host}/token",service="svc"`, 'content-length': '0' });
        res.end();
      });
    });
    after(async () => reg?.stop());

    it('quotes neither the password (any spelling) nor its Basic value, from a GET token request', async () => {
      const err = await rec.rejects(client(reg.host, { username: USER, password: PASSWORD }).repository('a').hasBlob(randomBlob(1).digest), 'REGISTRY_ERROR');
      assert.match(err.message, /answered 418 .*\[redacted\]/);
      for (const form of spelled(PASSWORD, USER)) assert.ok(!err.message.includes(form), `leaked ${form} in: ${err.message}`);
    });

    it('quotes no refresh token, nor the Basic value made of it', async () => {
      const authfile = join(home, 'refresh.json');
      await writeFile(authfile, JSON.stringify({ auths: { [reg.host]: { identitytoken: REFRESH } } }));
      const err = await rec.rejects(client(reg.host, { authfile }).repository('a').hasBlob(randomBlob(1).digest), 'REGISTRY_ERROR');
      assert.match(err.message, /answered 418 .*\[redacted\]/);
      for (const form of spelled(REFRESH, '<token>')) assert.ok(!err.message.includes(form), `leaked ${form} in: ${err.message}`);
    });
  });

  describe('slow, endless and unprintable answers', () => {
    let reg: ScriptedRegistry;
    let pages = 0;
    before(async () => {
      reg = await startScriptedRegistry((req, res) => {
        if (req.path === '/v2/') return json(res, 200, {});
        if (req.path.startsWith('/v2/slow/manifests/')) {
          return trickle(res, 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(200) }), 200);
        }
        if (req.path.startsWith('/v2/endless/tags/list')) {
          pages++;
          const n = Number(new URL(req.path, 'http://x').searchParams.get('last')?.slice(1) ?? 0) + 1;
          return json(res, 200, { tags: [`t${n}`] }, { link: `</v2/endless/tags/list?last=t${n}>; rel="next"` });
        }
        if (req.path.startsWith('/v2/ctl/tags/list')) return json(res, 200, { tags: ['ok', 'bad\n\u001b[31mred'] });
        return json(res, 400, { errors: [{ code: 'MANIFEST_INVALID\u001b[2J', message: 'line one\nFAKE: line two \u001b[31m\u202e' }] });
      });
    });
    after(async () => reg?.stop());

    it('gives up on a manifest trickled a byte at a time, at the read deadline', async () => {
      const started = Date.now();
      const err = await rec.rejects(client(reg.host, { readTimeoutMs: 1500 }).repository('slow').getManifest('v1'), 'TIMEOUT');
      assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
      assert.match(err.message, /did not send its whole answer in time/);
    });

    it(`stops an endless Link: next chain after ${MAX_PAGES} pages`, { timeout: 60_000 }, async () => {
      const err = await rec.rejects(collect(client(reg.host).repository('endless').tags()), 'REGISTRY_ERROR');
      assert.match(err.message, new RegExp(`more than ${MAX_PAGES} pages`));
      assert.equal(pages, MAX_PAGES);
    });

    it('escapes control characters of registry errors; tag lists come back as sent (the CLI escapes what it prints)', async () => {
      const err = await rec.rejects(client(reg.host).repository('ctl').getManifest('v1'), 'REGISTRY_ERROR');
      assert.doesNotMatch(err.message, /[\n\u001b\u202e]/);
      assert.match(err.message, /MANIFEST_INVALID\\x1b\[2J \(line one FAKE: line two \\x1b\[31m\\u202e\)/);
      assert.deepEqual(await collect(client(reg.host).repository('ctl').tags()), ['ok', 'bad\n\x1b[31mred']);
    });
  });
});
