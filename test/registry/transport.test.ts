import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/image/media-types.js';
import { RegistryClient } from '../../src/registry/index.js';
import { resolveOptions } from '../../src/registry/options.js';
import { backoffDelay, parseRetryAfter } from '../../src/registry/retry.js';
import { Transport } from '../../src/registry/transport.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, localNonLoopbackName, randomBlob, recorded, Recorder, secretsOf } from './helpers.js';

describe('retry arithmetic', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('1'), 1000);
    assert.equal(parseRetryAfter(' 60 '), 60_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('backs off exponentially with equal jitter (half of each step is certain), capped', () => {
    assert.equal(backoffDelay(1, 100, 10_000, () => 0), 50);
    assert.equal(backoffDelay(1, 100, 10_000, () => 0.999999), 99);
    assert.equal(backoffDelay(4, 100, 10_000, () => 0), 400);
    assert.equal(backoffDelay(4, 100, 10_000, () => 0.999999), 799);
    assert.equal(backoffDelay(30, 100, 10_000, () => 0), 5000);
    assert.equal(backoffDelay(30, 100, 10_000, () => 0.999999), 9999);
  });
});

describe('proxy selection', () => {
  const t = (env: NodeJS.ProcessEnv) => new Transport('reg.example', resolveOptions({ env }));
  it('uses HTTPS_PROXY / HTTP_PROXY for remote hosts, never for loopback', async () => {
    const tr = t({ HTTPS_PROXY: 'http://proxy.example:3128', HTTP_PROXY: 'http://proxy.example:3128' });
    assert.equal(tr.usesProxy(new URL('https://reg.example/v2/')), true);
    assert.equal(tr.usesProxy(new URL('http://reg.example/v2/')), true);
    assert.equal(tr.usesProxy(new URL('http://127.0.0.1:5000/v2/')), false);
    assert.equal(tr.usesProxy(new URL('http://localhost:5000/v2/')), false);
    assert.equal(tr.usesProxy(new URL('http://[::1]:5000/v2/')), false);
    await tr.close();
    const none = t({});
    assert.equal(none.usesProxy(new URL('https://reg.example/v2/')), false);
    await none.close();
    const lower = t({ https_proxy: 'http://p.example:1' });
    assert.equal(lower.usesProxy(new URL('https://reg.example/')), true);
    assert.equal(lower.usesProxy(new URL('http://reg.example/')), false);
    await lower.close();
  });
});

describe('transport against a registry behind the fault proxy', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  const rec = new Recorder();
  let client: RegistryClient;
  const repoName = 'retry/app';
  const blob = randomBlob(200_000);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: blob.digest, size: blob.size },
      layers: [],
    }),
  );

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    client = new RegistryClient(proxy.host, { ...FAST, log: rec.log });
    const repo = client.repository(repoName);
    await repo.putBlob(blob.digest, blob.source);
    await repo.putManifest('v1', manifest, MediaType.ociManifest);
  });
  after(async () => {
    await client?.close();
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  const manifestGets = () => recorded(proxy.requests, 'GET', /\/manifests\/v1$/).length;

  it('retries 503 twice, then succeeds', async () => {
    proxy.setRules([{ kind: 'status', status: 503, match: { method: 'GET', path: /\/manifests\/v1$/ }, times: 2 }]);
    const before = manifestGets();
    const retries = rec.of('retry').length;
    const m = await client.repository(repoName).getManifest('v1');
    assert.deepEqual(m.raw, manifest);
    assert.equal(manifestGets() - before, 3);
    assert.deepEqual(
      rec.of('retry').slice(retries).map((e) => e.reason),
      ['503', '503'],
    );
  });

  it('waits as long as Retry-After says on a 429', async () => {
    proxy.setRules([{ kind: 'status', status: 429, headers: { 'Retry-After': '1' }, body: 'Too Many Requests', match: { path: /\/manifests\/v1$/ }, times: 1 }]);
    const started = Date.now();
    const m = await client.repository(repoName).getManifest('v1');
    assert.deepEqual(m.raw, manifest);
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    assert.equal(rec.of('retry').at(-1)!.delayMs, 1000);
  });

  it('caps a long Retry-After at maxRetryWaitMs', async () => {
    const c = new RegistryClient(proxy.host, { retryBaseMs: 1, maxRetryWaitMs: 50 });
    try {
      proxy.setRules([{ kind: 'status', status: 429, headers: { 'Retry-After': '3600' }, match: { path: /\/manifests\/v1$/ }, times: 1 }]);
      const started = Date.now();
      await c.repository(repoName).getManifest('v1');
      assert.ok(Date.now() - started < 2000);
    } finally {
      await c.close();
    }
  });

  it('reads again when a body breaks off (reset after the headers)', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 1000, match: { method: 'GET', path: /\/blobs\/sha256:/ }, times: 1 }]);
    assert.deepEqual(await client.repository(repoName).getBlobBytes(blob.digest, 1 << 20), blob.data);
    proxy.setRules([{ kind: 'reset-after', bytes: 10, match: { method: 'GET', path: /\/manifests\/v1$/ }, times: 1 }]);
    assert.deepEqual((await client.repository(repoName).getManifest('v1')).raw, manifest);
  });

  it('fails with a typed error after bounded tries when the fault never clears', async () => {
    proxy.setRules([{ kind: 'status', status: 503, match: { path: /\/manifests\/v1$/ } }]);
    const before = manifestGets();
    const err = await rec.rejects(client.repository(repoName).getManifest('v1'), 'REGISTRY_ERROR');
    assert.equal(manifestGets() - before, 11, 'default: 10 retries');
    assert.equal(err.details.status, 503);
    assert.equal(err.details.method, 'GET');
    assert.equal(err.details.url, `http://${proxy.host}/v2/${repoName}/manifests/v1`);
    assert.equal(err.details.registryCode, 'UNAVAILABLE');

    proxy.setRules([{ kind: 'reset-after', bytes: 0, match: { path: /\/blobs\/sha256:/ } }]);
    const e2 = await rec.rejects(client.repository(repoName).getBlobBytes(blob.digest, 1 << 20), 'NETWORK_ERROR');
    assert.match(e2.message, /blob /);
  });

  it('times out waiting for headers, as TIMEOUT', async () => {
    // undici checks these timeouts on a coarse clock (about 0.5-1 s), hence the long delay
    const c = new RegistryClient(proxy.host, { ...FAST, retries: 0, timeoutMs: 200 });
    try {
      await c.ping();
      proxy.setRules([{ kind: 'delay', ms: 2500, match: { path: /\/manifests\/v1$/ } }]);
      const started = Date.now();
      await rec.rejects(c.repository(repoName).getManifest('v1'), 'TIMEOUT');
      assert.ok(Date.now() - started < 2400);
    } finally {
      proxy.setRules([]);
      await c.close();
    }
  });

  it('reaches a non-loopback registry through HTTP_PROXY (CONNECT), but not with NO_PROXY', async (t) => {
    const name = await localNonLoopbackName();
    if (!name) return t.skip('no local host name that resolves to 127.x');
    proxy.setRules([]);
    const connects: string[] = [];
    const forward = http.createServer((_req, res) => {
      res.writeHead(502);
      res.end();
    });
    forward.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => forward.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(forward.address() as net.AddressInfo).port}`;
    // this machine's name resolves to 127.x but is not loopback by name, so it is proxied
    const port = proxy.host.split(':')[1];
    const via = new RegistryClient(`${name}:${port}`, { ...FAST, plainHttp: true, env: { HTTP_PROXY: proxyUrl } });
    const direct = new RegistryClient(`${name}:${port}`, { ...FAST, plainHttp: true, env: { HTTP_PROXY: proxyUrl, NO_PROXY: name } });
    const loop = new RegistryClient(proxy.host, { ...FAST, plainHttp: true, env: { HTTP_PROXY: proxyUrl } });
    try {
      assert.equal(await via.repository(repoName).hasBlob(blob.digest), true);
      assert.ok(connects.length >= 1 && connects.every((c) => c === `${name}:${port}`));
      const viaCount = connects.length;
      assert.equal(await direct.repository(repoName).hasBlob(blob.digest), true);
      assert.equal(await loop.repository(repoName).hasBlob(blob.digest), true);
      assert.equal(connects.length, viaCount, 'NO_PROXY and loopback registries go direct');
    } finally {
      await Promise.all([via.close(), direct.close(), loop.close()]);
      forward.closeAllConnections();
      await new Promise((r) => forward.close(r));
    }
  });
});
