/**
 * Round trips of the start-up cases tagging scripts repeat (issue 11 §2), counted through the
 * fault proxy in front of a token-auth registry with the real CLI: a re-push with nothing to
 * upload is one ping, one HEAD per blob (all at once), one manifest PUT per tag (all at once)
 * and one token; `tarpush tag` with 20 tags is one ping, one manifest GET, 20 PUTs at once and
 * one token. Requests in flight are sampled while a delay rule holds each one for a while.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFaultProxy, type FaultProxyHandle, type RecordedRequest } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli, type CliRun } from '../support/tarpush-cli.js';
import { expected, fixture, tempDir } from './support.js';

let reg: RegistryHandle;
let proxy: FaultProxyHandle;
before(async () => {
  reg = await startRegistry({ mode: 'token' });
  proxy = await startFaultProxy({ url: reg.url });
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const HOLD_MS = 400;
const kaniko = expected['kaniko.tar']!.images[0]!;
const blobCount = kaniko.layers!.length + 1; // layers and the config
const TAGS = Array.from({ length: 20 }, (_, i) => `t${i}`);

interface Counted {
  run: CliRun;
  requests: RecordedRequest[];
  tokens: { via: string; scopes: string[] }[];
  /** Most requests of each kind seen in flight at once. */
  peak: Map<string, number>;
}

const kindOf = (r: RecordedRequest): string => `${r.method} ${r.path.replace(/^\/v2\/[^]*?\/(blobs|manifests)\/.*$/, '$1').replace(/\?.*$/, '')}`;

/** Run the CLI with the counters cleared; sample in-flight requests every 10 ms while it runs. */
async function counted(args: string[], cacheDir: string): Promise<Counted> {
  proxy.requests.length = 0;
  reg.tokenServer!.requests.length = 0;
  const peak = new Map<string, number>();
  const sampler = setInterval(() => {
    const now = new Map<string, number>();
    for (const r of proxy.requests) if (r.status === undefined) now.set(kindOf(r), (now.get(kindOf(r)) ?? 0) + 1);
    for (const [k, n] of now) peak.set(k, Math.max(peak.get(k) ?? 0, n));
  }, 10);
  const { username, password } = reg.users.admin;
  try {
    const run = await tarpushCli(args, { env: { TARPUSH_USERNAME: username, TARPUSH_PASSWORD: password, TARPUSH_CACHE_DIR: cacheDir } });
    assert.equal(run.code, 0, run.stderr);
    return { run, requests: [...proxy.requests], tokens: reg.tokenServer!.requests.map((t) => ({ via: t.via, scopes: t.scopes })), peak };
  } finally {
    clearInterval(sampler);
  }
}

const count = (c: Counted, kind: string) => c.requests.filter((r) => kindOf(r) === kind).length;

test('a re-push with nothing to upload: one ping, one HEAD per blob at once, one PUT per tag at once, one token', async (t) => {
  const cache = await tempDir(t);
  const dest = `${proxy.host}/counts/repush:1`;
  const first = await counted(['push', fixture('kaniko.tar'), dest], cache);
  assert.ok(count(first, 'PUT manifests') === 1, 'the first push wrote the manifest');

  proxy.setRules([{ kind: 'delay', ms: HOLD_MS, match: { method: 'HEAD' } }, { kind: 'delay', ms: HOLD_MS, match: { method: 'PUT', path: /\/manifests\// } }]);
  try {
    const again = await counted(['push', fixture('kaniko.tar'), dest, ...TAGS.flatMap((tag) => ['--tag', tag])], cache);
    const kinds = again.requests.map(kindOf).sort();
    assert.deepEqual(kinds, ['GET /v2/', ...Array<string>(blobCount).fill('HEAD blobs'), ...Array<string>(TAGS.length + 1).fill('PUT manifests')].sort());
    assert.equal(again.peak.get('HEAD blobs'), blobCount, 'the blob HEADs were not sent at once');
    assert.equal(again.peak.get('PUT manifests'), TAGS.length + 1, 'the tag PUTs were not sent at once');
    assert.deepEqual(again.tokens.map((tok) => tok.scopes.join(' ')), ['repository:counts/repush:pull,push']);
  } finally {
    proxy.setRules([]);
  }
});

test('tag with 20 tags: one ping, one manifest GET, 20 PUTs at once, one token', async (t) => {
  const cache = await tempDir(t);
  const src = `${proxy.host}/counts/tag:1`;
  await counted(['push', fixture('kaniko.tar'), src], cache);

  proxy.setRules([{ kind: 'delay', ms: HOLD_MS, match: { method: 'PUT', path: /\/manifests\// } }]);
  try {
    const tagged = await counted(['tag', src, ...TAGS], cache);
    const kinds = tagged.requests.map(kindOf).sort();
    assert.deepEqual(kinds, ['GET /v2/', 'GET manifests', ...Array<string>(TAGS.length).fill('PUT manifests')].sort());
    assert.equal(tagged.peak.get('PUT manifests'), TAGS.length, 'the tag PUTs were not sent at once');
    assert.deepEqual(tagged.tokens.map((tok) => tok.scopes.join(' ')), ['repository:counts/tag:pull,push']);
    const statuses = tagged.requests.filter((r) => r.method === 'PUT').map((r) => r.status);
    assert.deepEqual(statuses, Array<number>(TAGS.length).fill(201));
  } finally {
    proxy.setRules([]);
  }
});
