import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/registry/index.js';
import type { ByteSource } from '../../src/image/types.js';
import { startFaultProxy, type FaultProxyHandle, type FaultRule } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, randomBlob, recorded, Recorder, secretsOf, storedBlob } from './helpers.js';

/** The upload ladder against a real distribution registry, with the fault proxy in front. */
describe('putBlob: the upload ladder', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  let n = 0;

  /** A fresh client (fresh learned features) on the proxy, and a fresh repository name. */
  function fresh(opts: ConstructorParameters<typeof RegistryClient>[1] = {}) {
    const client = new RegistryClient(proxy.host, { ...FAST, log: rec.log, ...opts });
    clients.push(client);
    n++;
    const repoName = `ladder/r${n}`;
    return { client, repo: client.repository(repoName), path: new RegExp(`^/v2/${repoName}/`) };
  }

  const stored = (repoName: string, digest: string) => storedBlob(reg, repoName, digest);

  /**
   * A progress callback that arms `rules` just before the second 1 MiB chunk is sent: the
   * first chunk ends at 1 MiB and the second chunk's request starts by reporting 1 MiB again
   * (after the first chunk's answer came back), so only later requests meet the rules.
   */
  function armBeforeSecondChunk(rules: FaultRule[]): (sent: number) => void {
    let previous = -1;
    let armed = false;
    return (sent) => {
      if (!armed && sent === 1 << 20 && previous === 1 << 20) {
        armed = true;
        proxy.setRules(rules);
      }
      previous = sent;
    };
  }

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    await proxy?.stop();
    await reg?.stop();
  });

  it('sends a small blob with a single POST when the registry takes it (201)', async () => {
    proxy.setRules([{ kind: 'single-post' }]);
    const { repo, path } = fresh();
    const b = randomBlob(4000);
    const progress: number[] = [];
    await repo.putBlob(b.digest, b.source, (s) => progress.push(s));
    const posts = recorded(proxy.requests, 'POST', path);
    assert.equal(posts.length, 1);
    assert.match(posts[0]!.path, /\?digest=sha256%3A[0-9a-f]{64}$/);
    assert.equal(posts[0]!.bodyBytes, 4000);
    assert.equal(recorded(proxy.requests, 'PUT', path).length, 0);
    assert.equal(progress.at(-1), 4000);
    assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!), 'progress is monotonic');
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
    assert.ok(await repo.hasBlob(b.digest));
  });

  it('falls back to PUT when the single POST is answered 202, and stops trying it', async () => {
    proxy.setRules([]);
    const { client, repo, path } = fresh();
    const a = randomBlob(3000);
    await repo.putBlob(a.digest, a.source);
    assert.equal(client.features.singlePost, false);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.bodyBytes, 3000);
    // the second small blob goes POST (no body) + PUT straight away
    const b = randomBlob(2000);
    await repo.putBlob(b.digest, b.source);
    const posts = recorded(proxy.requests, 'POST', path);
    assert.equal(posts.length, 2);
    assert.equal(posts[1]!.bodyBytes, 0);
    assert.ok(!posts[1]!.path.includes('digest='));
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
    assert.ok(rec.of('fallback').some((e) => e.what === 'single-post'));
  });

  it('uploads the usual way when the registry refuses a POST with a body (415)', async () => {
    proxy.setRules([{ kind: 'status', status: 415, match: { method: 'POST', path: /[?&]digest=/ }, times: 1 }]);
    const { client, repo, path } = fresh();
    const b = randomBlob(5000);
    await repo.putBlob(b.digest, b.source);
    assert.equal(client.features.singlePost, false);
    assert.deepEqual(
      recorded(proxy.requests, 'POST', path).map((r) => r.status),
      [415, 202],
    );
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('uploads an empty blob', async () => {
    proxy.setRules([]);
    const { repo } = fresh();
    const b = randomBlob(0);
    await repo.putBlob(b.digest, b.source);
    assert.deepEqual(await stored(repo.repository, b.digest), Buffer.alloc(0));
    const c = fresh({ chunkSize: 1000 });
    await c.repo.putBlob(b.digest, b.source);
    assert.ok(await c.repo.hasBlob(b.digest));
  });

  it('uploads a larger blob with POST then one streamed monolithic PUT', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh();
    const b = randomBlob(3 << 20);
    let last = 0;
    await repo.putBlob(b.digest, b.source, (s) => (last = s));
    assert.equal(last, b.size);
    const posts = recorded(proxy.requests, 'POST', path);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.bodyBytes, 0);
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.bodyBytes, b.size);
    assert.equal(puts[0]!.headers['content-length'], String(b.size));
    assert.equal(recorded(proxy.requests, 'PATCH', path).length, 0);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('sends chunked PATCHes with Content-Range (no "bytes " prefix) when chunkSize is set', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob((5 << 19) + 123); // 2.5 MiB + 123
    await repo.putBlob(b.digest, b.source);
    const patches = recorded(proxy.requests, 'PATCH', path);
    assert.deepEqual(
      patches.map((p) => p.headers['content-range']),
      ['0-1048575', '1048576-2097151', `2097152-${b.size - 1}`],
    );
    assert.deepEqual(
      patches.map((p) => p.bodyBytes),
      [1 << 20, 1 << 20, b.size - (2 << 20)],
    );
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.bodyBytes, 0);
    assert.match(puts[0]!.path, /[?&]digest=sha256%3A/);
    // each PATCH went to the Location the previous answer named (distribution's _state changes)
    const sessions = new Set(patches.map((p) => p.path));
    assert.equal(sessions.size, patches.length);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('honours OCI-Chunk-Min-Length over a smaller chunkSize (ECR)', async () => {
    proxy.setRules([{ kind: 'min-chunk', bytes: 1 << 20 }]);
    const { repo, path } = fresh({ chunkSize: 256 << 10 });
    const b = randomBlob((5 << 19) + 7);
    await repo.putBlob(b.digest, b.source);
    const patches = recorded(proxy.requests, 'PATCH', path);
    assert.deepEqual(
      patches.map((p) => p.bodyBytes),
      [1 << 20, 1 << 20, b.size - (2 << 20)],
    );
    assert.ok(patches.every((p) => p.status === 202));
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('switches to chunks, halving them, when the registry refuses the body size (413/416)', async () => {
    proxy.setRules([{ kind: 'max-body', bytes: 700 << 10 }]);
    const { client, repo, path } = fresh();
    const b = randomBlob(3 << 20);
    await repo.putBlob(b.digest, b.source);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts[0]!.status, 416, 'the monolithic PUT was refused');
    const patches = recorded(proxy.requests, 'PATCH', path).filter((p) => p.status === 202);
    assert.ok(patches.length >= 5, `expected chunks under the limit, got ${patches.length}`);
    assert.ok(patches.every((p) => p.bodyBytes <= 700 << 10));
    assert.ok(client.features.maxBody !== undefined && client.features.maxBody <= 700 << 10);
    assert.ok(rec.of('fallback').some((e) => e.what === 'chunked'));
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
    // a later blob on the same client goes straight to chunks
    const before = recorded(proxy.requests, 'PUT', path).length;
    const c = randomBlob(1500 << 10);
    await repo.putBlob(c.digest, c.source);
    const newPuts = recorded(proxy.requests, 'PUT', path).slice(before);
    assert.ok(newPuts.every((p) => p.bodyBytes === 0 && p.status === 201));
  });

  it('resumes a chunked upload from the Range the session reports after a reset', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob(3 << 20);
    await repo.putBlob(b.digest, b.source, armBeforeSecondChunk([{ kind: 'reset-after', bytes: 0, match: { method: 'PATCH' }, times: 1 }]));
    assert.equal(recorded(proxy.requests, 'POST', path).length, 1, 'same session, no restart');
    const statusChecks = recorded(proxy.requests, 'GET', /blobs\/uploads\//).filter((r) => path.test(r.path));
    assert.equal(statusChecks.length, 1);
    const resume = rec.of('resume').filter((e) => e.digest === b.digest);
    assert.deepEqual(resume.map((e) => e.offset), [1 << 20]);
    const ranges = recorded(proxy.requests, 'PATCH', path).map((p) => p.headers['content-range']);
    assert.deepEqual(ranges, ['0-1048575', '1048576-2097151', '1048576-2097151', '2097152-3145727']);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('starts over when a reset leaves the session unusable (distribution: stale upload state)', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob(3 << 20);
    await repo.putBlob(b.digest, b.source, armBeforeSecondChunk([{ kind: 'reset-after', bytes: 300_000, match: { method: 'PATCH' }, times: 1 }]));
    assert.equal(recorded(proxy.requests, 'POST', path).length, 2, 'a second session');
    assert.ok(rec.of('fallback').some((e) => e.what === 'restart'));
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('retries a monolithic PUT cut mid-body from what the session holds', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 1 << 20, match: { method: 'PUT' }, times: 1 }]);
    const { repo, path } = fresh();
    const b = randomBlob(3 << 20);
    await repo.putBlob(b.digest, b.source);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.length, 2);
    assert.equal(puts[1]!.status, 201);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('checks with HEAD when the answer to the closing PUT was lost and the session is gone', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 0, match: { method: 'PUT' }, times: 1 }]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob(1500 << 10);
    await repo.putBlob(b.digest, b.source);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.length, 2, 'the PUT was repeated once');
    assert.equal(puts[1]!.status, 404, 'the registry had already closed the session');
    assert.equal(recorded(proxy.requests, 'POST', path).length, 1, 'no new session: the HEAD found the blob');
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('confirms with HEAD when the closing PUT is answered 202 (Docker Hub)', async () => {
    proxy.setRules([{ kind: 'accepted-not-created' }]);
    const { repo, path } = fresh();
    const b = randomBlob(2 << 20);
    await repo.putBlob(b.digest, b.source);
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.at(-1)!.status, 202);
    const heads = recorded(proxy.requests, 'HEAD', path);
    assert.ok(heads.length >= 1, 'a HEAD confirmed the blob');
  });

  it('fails with REGISTRY_DIGEST_MISMATCH when the registry reports another digest', async () => {
    const other = `sha256:${'0'.repeat(64)}`;
    proxy.setRules([{ kind: 'status', status: 201, match: { method: 'PUT' }, headers: { 'Docker-Content-Digest': other }, body: '' }]);
    const { repo } = fresh();
    const b = randomBlob(2 << 20);
    const err = await rec.rejects(repo.putBlob(b.digest, b.source), 'REGISTRY_DIGEST_MISMATCH');
    assert.equal(err.details.expected, b.digest);
    assert.equal(err.details.actual, other);
  });

  it('gives up with a typed error after bounded tries when a fault never clears', async () => {
    proxy.setRules([{ kind: 'status', status: 503, match: { method: 'PATCH' } }]);
    const { repo, path } = fresh({ chunkSize: 1 << 20, retries: 2 });
    const b = randomBlob(2 << 20);
    const err = await rec.rejects(repo.putBlob(b.digest, b.source), 'REGISTRY_ERROR');
    assert.equal(err.details.status, 503);
    assert.equal(err.details.method, 'PATCH');
    assert.equal(recorded(proxy.requests, 'PATCH', path).length, 3, 'retries: 2 → 3 tries');
  });

  it('does not retry a source that fails to read, and names it', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh();
    const broken: ByteSource = {
      size: 2 << 20,
      location: 'broken.tar!blobs/sha256/ab',
      open: () =>
        new Readable({
          read() {
            this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
          },
        }),
    };
    const err = await rec.rejects(repo.putBlob(`sha256:${'1'.repeat(64)}`, broken), 'ARCHIVE_UNREADABLE');
    assert.match(err.message, /broken\.tar!blobs\/sha256\/ab/);
    assert.equal(recorded(proxy.requests, 'POST', path).length, 1, 'no second session');
    assert.ok(recorded(proxy.requests, 'PUT', path).length <= 1, 'no second PUT');
  });
});
