import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { RegistryClient } from '../../src/registry/index.js';
import { clientDefaults, resolveOptions } from '../../src/registry/options.js';
import { backoffDelay, RETRYABLE_STATUSES, RetryBudget } from '../../src/registry/retry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startTcpFront, type TcpFront } from '../support/tcp-front.js';
import { FAST, randomBlob, recorded, Recorder, storedBlob } from './helpers.js';

describe('retry defaults', () => {
  const d = resolveOptions({});

  it('are 10 retries, 30 s idle limit, 30 s retry window, 60 s read deadline', () => {
    assert.equal(d.retries, clientDefaults.retries);
    assert.equal(d.retries, 10);
    assert.equal(d.timeoutMs, 30_000);
    assert.equal(d.retryWindowMs, 30_000);
    assert.equal(d.readTimeoutMs, 60_000);
    assert.deepEqual([...RETRYABLE_STATUSES].sort(), [408, 429, 500, 502, 503, 504]);
  });

  it('ride out a 15 s restart even when every wait is drawn shortest', () => {
    let floor = 0;
    let ceiling = 0;
    for (let a = 1; a <= d.retries; a++) {
      floor += backoffDelay(a, d.retryBaseMs, d.maxRetryWaitMs, () => 0);
      ceiling += backoffDelay(a, d.retryBaseMs, d.maxRetryWaitMs, () => 0.999999);
    }
    assert.ok(floor >= 18_000, `the shortest schedule waits ${floor} ms`);
    // with the longest draws the window, not the count, ends the run: still well past 15 s
    assert.ok(Math.min(ceiling, d.retryWindowMs - d.maxRetryWaitMs) >= 20_000);
    assert.ok(d.maxRetryWaitMs <= 5_000, 'tries are never far apart');
  });

  it('let a frozen registry fail within 60 s: one idle limit, then what is left of the window', () => {
    assert.ok(d.timeoutMs + d.retryWindowMs <= 60_000);
    const budget = new RetryBudget(d);
    assert.equal(budget.idleLimit(), 30_000);
    assert.notEqual(budget.next(), undefined); // the first failure opens the window
    assert.ok(budget.idleLimit() <= 30_000);
  });
});

describe('RetryBudget', () => {
  it('counts retries in a row, logs each with its number and the maximum, and starts afresh on progress', async () => {
    const rec = new Recorder();
    const opts = resolveOptions({ ...FAST, retries: 2, log: rec.log });
    const budget = new RetryBudget(opts);
    const t = { method: 'PUT', url: 'http://r/v2/a/manifests/v1' };
    assert.equal(await budget.retry(t, '503'), true);
    assert.equal(await budget.retry(t, '502'), true);
    assert.equal(await budget.retry(t, '503'), false);
    budget.progressed();
    assert.equal(await budget.retry(t, 'ECONNRESET'), true);
    assert.deepEqual(
      rec.of('retry').map((e) => [e.method, e.attempt, e.of, e.reason]),
      [
        ['PUT', 1, 2, '503'],
        ['PUT', 2, 2, '502'],
        ['PUT', 1, 2, 'ECONNRESET'],
      ],
    );
  });

  it('starts no retry after the window or the deadline', async () => {
    const budget = new RetryBudget(resolveOptions({ retryBaseMs: 100, maxRetryWaitMs: 100, retryWindowMs: 120 }));
    const t = { method: 'GET', url: 'x' };
    assert.equal(await budget.retry(t, '503'), true); // waits 50..100 ms
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await budget.retry(t, '503'), false, 'past the window');
    const read = new RetryBudget(resolveOptions({ retryBaseMs: 100, maxRetryWaitMs: 100 }), { deadlineMs: 30 });
    assert.equal(await read.retry(t, '503'), false, 'the wait would end past the deadline');
    assert.ok(read.idleLimit() <= 30);
  });
});

describe('retries against a real registry', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let front: TcpFront;
  const clients: RegistryClient[] = [];
  const manifestFor = (digest: string, size: number) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest, size },
        layers: [],
      }),
    );

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    const [host, port] = reg.host.split(':');
    front = await startTcpFront({ host: host!, port: Number(port) });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await front?.stop();
    await proxy?.stop();
    await reg?.stop();
  });

  it('re-sends a single POST with the blob after a 503', async () => {
    const rec = new Recorder();
    const client = new RegistryClient(proxy.host, { ...FAST, log: rec.log });
    clients.push(client);
    proxy.setRules([
      { kind: 'status', status: 503, match: { method: 'POST', path: /\/blobs\/uploads\/\?digest=/ }, times: 1 },
      { kind: 'single-post' },
    ]);
    const b = randomBlob(5000);
    await client.repository('retry/single').putBlob(b.digest, b.source);
    const posts = recorded(proxy.requests, 'POST', /^\/v2\/retry\/single\/blobs\/uploads\/\?digest=/);
    assert.equal(posts.length, 2, 'the POST with the body was sent again');
    assert.equal(posts[1]!.bodyBytes, 5000, 'with the whole body');
    assert.deepEqual(await storedBlob(reg, 'retry/single', b.digest), b.data);
    const retry = rec.of('retry')[0]!;
    assert.equal(retry.method, 'POST');
    assert.equal(retry.reason, '503');
    assert.equal(retry.of, 10);
    assert.match(retry.url, /\/blobs\/uploads\/$/);
    proxy.setRules([]);
  });

  it('rides out an 8 s registry outage (refused, then back) during a blob upload and a manifest PUT, with default settings', async () => {
    const rec = new Recorder();
    const client = new RegistryClient(front.host, { log: rec.log });
    clients.push(client);
    await client.ping(); // learned: plain http
    const repo = client.repository('retry/outage');
    const b = randomBlob(3 << 20);
    const started = Date.now();
    const down = front.outage(8000);
    await repo.putBlob(b.digest, b.source);
    await repo.putManifest('v1', manifestFor(b.digest, b.size), MediaType.ociManifest);
    await down;
    assert.ok(Date.now() - started >= 7900, 'the outage was waited out');
    assert.deepEqual(await storedBlob(reg, 'retry/outage', b.digest), b.data);
    const reasons = new Set(rec.of('retry').map((e) => e.reason));
    assert.ok(reasons.has('ECONNREFUSED'), `retried refused connections (${[...reasons].join(', ')})`);
  });

  it('gives up on a frozen registry within its idle limit plus the retry window', async () => {
    const rec = new Recorder();
    const client = new RegistryClient(front.host, { ...FAST, timeoutMs: 1000, retryWindowMs: 1500, log: rec.log });
    clients.push(client);
    await client.ping();
    front.freeze(true);
    try {
      const started = Date.now();
      await rec.rejects(client.repository('retry/outage').getManifest('v1'), 'TIMEOUT');
      const took = Date.now() - started;
      // undici's timers are coarse (up to ~1 s late): 1 s idle + 1.5 s window + slack
      assert.ok(took < 5000, `took ${took} ms`);
      assert.ok(rec.of('retry').length >= 1, 'retried while the window lasted');
      const b = randomBlob(2 << 20);
      const upStarted = Date.now();
      await rec.rejects(client.repository('retry/outage').putBlob(b.digest, b.source), 'TIMEOUT');
      assert.ok(Date.now() - upStarted < 6000, `the upload gave up after ${Date.now() - upStarted} ms`);
    } finally {
      front.freeze(false);
    }
  });
});
