/**
 * What a push says about its requests: with -v each request (method, URL without query or
 * credentials, status, time); without it only retries and fallbacks, one line each. Against
 * the token-auth registry behind the fault proxy, which records the Authorization headers the
 * client sent, so the test knows every token and can look for it in the output.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '../publish/support.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli, type CliRun } from '../support/tarpush-cli.js';
import { makeTinyImage } from '../support/tiny-image.js';

describe('-v/--verbose and retry/fallback lines (token auth)', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let image: string;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    proxy = await startFaultProxy({ url: reg.url });
    const dir = await tempDir({ after: (fn) => void cleanups.push(fn) });
    // One layer of ~225 KiB gzipped, so a body limit below it makes the client shrink its chunks.
    image = (await makeTinyImage(join(dir, 'image'), { layers: [{ 'a.txt': 'small\n' }, { 'big.bin': randomBytes(225 * 1024).toString('base64') }] })).dir;
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    for (const c of cleanups) await c();
  });

  const admin = () => reg.users.admin;
  const push = (repo: string, extra: string[]): Promise<CliRun> =>
    tarpushCli(['push', image, `${proxy.host}/${repo}:v1`, '--no-cache', '--progress', 'plain', '-u', admin().username, '--password-stdin', ...extra], {
      input: `${admin().password}\n`,
      env: { CI: 'true' },
    });

  /** Every secret the client sent: the password, the Basic value, each bearer token (and its signature part). */
  function secrets(): string[] {
    const { username, password } = admin();
    const out = new Set([password, Buffer.from(`${username}:${password}`).toString('base64')]);
    for (const r of proxy.requests) {
      const a = r.headers.authorization;
      for (const v of Array.isArray(a) ? a : a ? [a] : []) {
        const value = v.replace(/^(Bearer|Basic)\s+/i, '');
        out.add(value);
        for (const part of value.split('.')) if (part.length >= 16) out.add(part);
      }
    }
    return [...out];
  }

  test('-v lists each request with its status and time, and never a token or password', async () => {
    proxy.setRules([]);
    const r = await push('verbose/one', ['-v']);
    assert.equal(r.code, 0, r.stderr);
    const requests = r.stderr.split('\n').filter((l) => /^(GET|HEAD|POST|PUT|PATCH) /.test(l));
    assert.ok(requests.length >= 6, r.stderr);
    for (const l of requests) assert.match(l, /^(GET|HEAD|POST|PUT|PATCH) https?:\/\/127\.0\.0\.1:\d+\/[^?\s]*( \d{3}) \d+ ms$/);
    assert.ok(requests.some((l) => /^PUT http:\/\/127\.0\.0\.1:\d+\/v2\/verbose\/one\/manifests\/v1 201 /.test(l)), r.stderr);
    assert.match(r.stderr, /^token (GET|POST) http:\/\/127\.0\.0\.1:\d+\/token scope repository:verbose\/one:(pull,push|push,pull) /m);
    const sent = secrets();
    assert.ok(sent.length >= 3, 'the proxy saw the bearer tokens');
    for (const s of sent) {
      assert.ok(!r.stderr.includes(s) && !r.stdout.includes(s), `a secret was printed: ${s.slice(0, 6)}…`);
    }
    // Other verbs take -v too.
    const tags = await tarpushCli(['tags', `${proxy.host}/verbose/one`, '-v', '-u', admin().username, '--password-stdin'], { input: `${admin().password}\n` });
    assert.equal(tags.code, 0, tags.stderr);
    assert.equal(tags.stdout, 'v1\n');
    assert.match(tags.stderr, /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/verbose\/one\/tags\/list 200 \d+ ms$/m);
    for (const s of secrets()) assert.ok(!tags.stderr.includes(s));
  });

  test('without -v: no request lines, one line per retry, each fallback once, sizes rounded', async () => {
    proxy.setRules([
      { kind: 'status', status: 503, times: 1, match: { method: 'HEAD', path: /\/blobs\/sha256:/ } },
      { kind: 'max-body', bytes: 150 * 1024 },
    ]);
    const r = await push('verbose/two', []);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /^(GET|HEAD|POST|PUT|PATCH) /m);
    assert.equal(r.stderr.match(/^retry /gm)?.length, 1, r.stderr);
    assert.match(r.stderr, /^retry 1\/\d+ after 503: HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/verbose\/two\/blobs\/sha256:[0-9a-f]{64}$/m);
    assert.match(r.stderr, /^fallback chunked: registry refused a body of \d+(\.\d)? KiB; chunks of \d+(\.\d)? KiB$/m);
    const fallbacks = r.stderr.split('\n').filter((l) => l.startsWith('fallback '));
    assert.equal(new Set(fallbacks).size, fallbacks.length, r.stderr);
    assert.doesNotMatch(r.stderr, /\d\.\d{2,}/, 'every number is rounded');
    proxy.setRules([]);
  });
});
