import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startRegistry, type RegistryHandle } from './registry.js';
import { startBlobRedirectTarget, startFaultProxy, type FaultProxyHandle } from './proxy.js';
import { plainFetch, putManifestPlain, uploadBlobPlain } from './plain-http.js';
import { blobOf, type TinyBlob } from './tiny-image.js';

const f = plainFetch();
let reg: RegistryHandle;
let proxy: FaultProxyHandle;

before(async () => {
  reg = await startRegistry();
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

const randomBlob = (size: number): TinyBlob => blobOf(randomBytes(size));
const headBlob = async (base: string, name: string, digest: string) =>
  (await f(`${base}/v2/${name}/blobs/${digest}`, { method: 'HEAD' })).status;

async function startSession(name: string): Promise<string> {
  const res = await f(`${proxy.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  return new URL(res.headers.get('location')!, proxy.url).href;
}

function patch(location: string, data: Buffer, start: number): ReturnType<typeof f> {
  return f(location, {
    method: 'PATCH',
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
      'content-range': `${start}-${start + data.length - 1}`,
    },
    body: data,
  });
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.append('digest', digest);
  return url.href;
}

describe('forwarding', () => {
  test('a blob upload (POST + PUT) and a manifest PUT work through the proxy, Locations point at the proxy', async () => {
    const config = blobOf('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const start = await f(`${proxy.url}/v2/fw/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    assert.ok(start.headers.get('location')!.startsWith(`${proxy.url}/v2/fw/app/blobs/uploads/`), start.headers.get('location')!);
    await start.arrayBuffer();
    const put = await uploadBlobPlain(f, proxy.url, 'fw/app', config);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), config.digest);
    assert.equal(put.headers.get('location'), `${proxy.url}/v2/fw/app/blobs/${config.digest}`);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
        layers: [],
      }),
    );
    const mput = await putManifestPlain(f, proxy.url, 'fw/app', 'v1', { data: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    assert.equal(mput.status, 201);
    assert.equal(mput.headers.get('location'), `${proxy.url}/v2/fw/app/manifests/${blobOf(manifest).digest}`);
    assert.equal(await headBlob(reg.url, 'fw/app', config.digest), 200, 'the blob reached the registry');

    const recorded = proxy.requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, '')} ${r.status}`);
    assert.deepEqual(recorded.slice(-2), ['PUT /v2/fw/app/blobs/uploads/' + new URL(put.url).pathname.split('/').pop() + ' 201', 'PUT /v2/fw/app/manifests/v1 201']);
    const blobPut = proxy.requests.at(-2)!;
    assert.equal(blobPut.bodyBytes, config.size);
    assert.equal(blobPut.origin, 'proxy');
    assert.equal(blobPut.headers['content-type'], 'application/octet-stream');
  });

  test('relative Link headers stay relative', async () => {
    for (const name of ['link/a', 'link/b']) assert.equal((await uploadBlobPlain(f, reg.url, name, randomBlob(10))).status, 201);
    const res = await f(`${proxy.url}/v2/_catalog?n=1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('link') ?? '', /^<\/v2\/_catalog\?/);
  });
});

describe('rules', () => {
  test('status 503 once, then requests pass again; match and times are honoured', async () => {
    proxy.setRules([
      { kind: 'status', status: 500, match: { method: 'POST' } },
      { kind: 'status', status: 503, times: 1, match: { path: /^\/v2\/$/ } },
    ]);
    const first = await f(`${proxy.url}/v2/`);
    assert.equal(first.status, 503);
    const body = (await first.json()) as { errors: Array<{ code: string }> };
    assert.equal(body.errors[0]!.code, 'UNAVAILABLE');
    assert.equal((await f(`${proxy.url}/v2/`)).status, 200);
    assert.equal((await f(`${proxy.url}/v2/x/blobs/uploads/`, { method: 'POST' })).status, 500);
    assert.equal((await f(`${proxy.url}/v2/x/blobs/uploads/`, { method: 'POST' })).status, 500, 'no times: unlimited');
    assert.deepEqual(proxy.requests.map((r) => r.status), [503, 200, 500, 500]);
  });

  test('429 carries Retry-After and a plain-text body', async () => {
    proxy.setRules([{ kind: 'status', status: 429, body: 'Too Many Requests', headers: { 'Retry-After': '2' }, times: 1 }]);
    const res = await f(`${proxy.url}/v2/`);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), 'Too Many Requests');
  });

  test('a 401 without WWW-Authenticate gets the target\'s kind of challenge', async () => {
    proxy.setRules([{ kind: 'status', status: 401, times: 1 }]);
    const res = await f(`${proxy.url}/v2/`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="/);
  });

  test('delay holds the request', async () => {
    proxy.setRules([{ kind: 'delay', ms: 250, times: 1 }]);
    const t0 = Date.now();
    assert.equal((await f(`${proxy.url}/v2/`)).status, 200);
    assert.ok(Date.now() - t0 >= 240, `took ${Date.now() - t0} ms`);
  });

  test('reset-after cuts a PUT body mid-way: the client sees a reset, the blob is not stored', async () => {
    const blob = randomBlob(256 * 1024);
    proxy.setRules([{ kind: 'reset-after', bytes: 50_000, match: { method: 'PUT' }, times: 1 }]);
    await assert.rejects(uploadBlobPlain(f, proxy.url, 'reset/app', blob));
    const put = proxy.requests.find((r) => r.method === 'PUT')!;
    assert.equal(put.status, undefined, 'no response was sent');
    assert.ok(put.bodyBytes >= 50_000 && put.bodyBytes < blob.size, `bodyBytes ${put.bodyBytes}`);
    assert.equal(await headBlob(reg.url, 'reset/app', blob.digest), 404);
    // the rule is used up: the retry goes through
    assert.equal((await uploadBlobPlain(f, proxy.url, 'reset/app', blob)).status, 201);
  });

  test('reset-after on a GET relays only the first bytes of the response; on a HEAD nothing', async () => {
    const blob = randomBlob(100_000);
    assert.equal((await uploadBlobPlain(f, reg.url, 'reset/get', blob)).status, 201);
    proxy.setRules([{ kind: 'reset-after', bytes: 1000, match: { method: 'GET' }, times: 1 }]);
    const res = await f(`${proxy.url}/v2/reset/get/blobs/${blob.digest}`);
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer());
    proxy.setRules([{ kind: 'reset-after', bytes: 1000, match: { method: 'HEAD' }, times: 1 }]);
    await assert.rejects(f(`${proxy.url}/v2/reset/get/blobs/${blob.digest}`, { method: 'HEAD' }));
    const full = await f(`${proxy.url}/v2/reset/get/blobs/${blob.digest}`);
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), blob.data);
  });

  test('reset-after with a body shorter than N: the registry gets it, the client gets no answer', async () => {
    const blob = randomBlob(1000);
    proxy.setRules([{ kind: 'reset-after', bytes: 1_000_000, match: { method: 'PUT' }, times: 1 }]);
    await assert.rejects(uploadBlobPlain(f, proxy.url, 'reset/late', blob));
    assert.equal(await headBlob(reg.url, 'reset/late', blob.digest), 200);
  });

  test('accepted-not-created turns the 201 of blob and manifest PUTs into 202', async () => {
    const blob = randomBlob(1000);
    proxy.setRules([{ kind: 'accepted-not-created' }]);
    const put = await uploadBlobPlain(f, proxy.url, 'hub/app', blob);
    assert.equal(put.status, 202);
    assert.equal(put.headers.get('docker-content-digest'), blob.digest);
    assert.equal(await headBlob(proxy.url, 'hub/app', blob.digest), 200, 'HEAD is untouched');
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blob.digest, size: blob.size },
      layers: [],
    }));
    const mput = await putManifestPlain(f, proxy.url, 'hub/app', 'v1', { data: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    assert.equal(mput.status, 202);
  });

  test('single-post completes a POST ?digest= with a body (201), no-single-post ignores the body (202)', async () => {
    const blob = randomBlob(5000);
    const post = (base: string) =>
      f(`${base}/v2/single/app/blobs/uploads/?digest=${blob.digest}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: blob.data,
      });
    // distribution itself ignores the body
    const plain = await post(reg.url);
    assert.equal(plain.status, 202);
    assert.equal(await headBlob(reg.url, 'single/app', blob.digest), 404);

    proxy.setRules([{ kind: 'no-single-post' }]);
    const ignored = await post(proxy.url);
    assert.equal(ignored.status, 202);
    assert.ok(ignored.headers.get('location')!.startsWith(`${proxy.url}/v2/single/app/blobs/uploads/`));
    assert.equal(await headBlob(reg.url, 'single/app', blob.digest), 404);
    assert.equal(proxy.requests.at(-1)!.bodyBytes, blob.size, 'the body was read');

    proxy.setRules([{ kind: 'single-post' }]);
    const done = await post(proxy.url);
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('docker-content-digest'), blob.digest);
    assert.equal(done.headers.get('location'), `${proxy.url}/v2/single/app/blobs/${blob.digest}`);
    assert.equal(await headBlob(proxy.url, 'single/app', blob.digest), 200);
  });

  test('single-post with a wrong digest passes the registry\'s refusal on', async () => {
    const blob = randomBlob(100);
    proxy.setRules([{ kind: 'single-post' }]);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const res = await f(`${proxy.url}/v2/single/bad/blobs/uploads/?digest=${wrong}`, {
      method: 'POST',
      headers: { 'content-length': String(blob.size) },
      body: blob.data,
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /DIGEST_INVALID/);
  });

  test('no-chunked refuses PATCH with 405 UNSUPPORTED; a monolithic PUT still works', async () => {
    const blob = randomBlob(2000);
    proxy.setRules([{ kind: 'no-chunked' }]);
    const location = await startSession('gcr/app');
    const res = await patch(location, blob.data, 0);
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNSUPPORTED');
    assert.equal((await uploadBlobPlain(f, proxy.url, 'gcr/app', blob)).status, 201);
  });

  test('max-body refuses bodies over the limit with 416 (Content-Length and chunked), smaller ones pass', async () => {
    const blob = randomBlob(3000);
    proxy.setRules([{ kind: 'max-body', bytes: 2000, match: { method: 'PATCH' } }]);
    const location = await startSession('ghcr/app');
    const big = await patch(location, blob.data, 0);
    assert.equal(big.status, 416);
    await big.arrayBuffer();

    // a streamed body without Content-Length is cut once it passes the limit
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(blob.data.subarray(0, 1500));
        controller.enqueue(blob.data.subarray(1500));
        controller.close();
      },
    });
    const { fetch: undiciFetch } = await import('undici');
    const streamed = await undiciFetch(location, { method: 'PATCH', body: stream, duplex: 'half' });
    assert.equal(streamed.status, 416);
    await streamed.arrayBuffer();

    const fresh = await startSession('ghcr/app');
    const small1 = await patch(fresh, blob.data.subarray(0, 1500), 0);
    assert.equal(small1.status, 202);
    const next = new URL(small1.headers.get('location')!, proxy.url).href;
    const small2 = await patch(next, blob.data.subarray(1500), 1500);
    assert.equal(small2.status, 202);
    const put = await f(withDigest(new URL(small2.headers.get('location')!, proxy.url).href, blob.digest), { method: 'PUT' });
    assert.equal(put.status, 201);
    const custom = { kind: 'max-body' as const, bytes: 10, status: 413 };
    proxy.setRules([custom]);
    assert.equal((await uploadBlobPlain(f, proxy.url, 'ghcr/app', randomBlob(11))).status, 413);
  });

  test('min-chunk: a small chunk followed by more data → 400; a small last chunk is fine', async () => {
    const blob = randomBlob(1500);
    proxy.setRules([{ kind: 'min-chunk', bytes: 1000 }]);
    const start = await f(`${proxy.url}/v2/ecr/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.headers.get('oci-chunk-min-length'), '1000');
    const location = new URL(start.headers.get('location')!, proxy.url).href;
    const small = await patch(location, blob.data.subarray(0, 100), 0);
    assert.equal(small.status, 202);
    const more = await patch(new URL(small.headers.get('location')!, proxy.url).href, blob.data.subarray(100, 200), 100);
    assert.equal(more.status, 400);
    assert.equal(((await more.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'BLOB_UPLOAD_INVALID');

    const fresh = await startSession('ecr/app');
    const big = await patch(fresh, blob.data.subarray(0, 1000), 0);
    assert.equal(big.status, 202);
    const last = await patch(new URL(big.headers.get('location')!, proxy.url).href, blob.data.subarray(1000), 1000);
    assert.equal(last.status, 202);
    const put = await f(withDigest(new URL(last.headers.get('location')!, proxy.url).href, blob.digest), { method: 'PUT' });
    assert.equal(put.status, 201);
    assert.equal(await headBlob(reg.url, 'ecr/app', blob.digest), 200);
  });

  test('redirect-blobs sends blob GETs to the second origin, which serves the bytes', async () => {
    const blob = randomBlob(4096);
    assert.equal((await uploadBlobPlain(f, reg.url, 'cdn/app', blob)).status, 201);
    const target = await startBlobRedirectTarget(proxy);
    try {
      proxy.setRules([{ kind: 'redirect-blobs', to: target.url }]);
      const res = await f(`${proxy.url}/v2/cdn/app/blobs/${blob.digest}`);
      assert.equal(res.status, 307);
      const location = res.headers.get('location')!;
      assert.ok(location.startsWith(`${target.url}/`), location);
      assert.notEqual(new URL(location).origin, proxy.url);
      const got = await f(location);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('docker-content-digest'), blob.digest);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), blob.data);
      const ranged = await f(location, { headers: { range: 'bytes=10-19' } });
      assert.equal(ranged.status, 206);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), blob.data.subarray(10, 20));
      assert.equal(target.requests.length, 2);
      assert.equal(target.requests[0]!.origin, 'redirect-target');
      assert.equal(target.requests[0]!.headers.authorization, undefined);
      assert.equal((await f(`${proxy.url}/v2/cdn/app/blobs/sha256:${'1'.repeat(64)}`)).status, 404, 'missing blobs are not redirected');
      assert.equal((await f(`${target.url}/blobs/${blob.digest}?repo=cdn/app&X-Test-Signature=forged`)).status, 403);
    } finally {
      await target.stop();
    }
  });
});
