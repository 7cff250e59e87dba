import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { assertNoSecrets, FAST, producer, randomBlob, recorded, Recorder, secretsOf, storedBlob } from './helpers.js';

/** putStream: bytes whose digest is only known once they have all passed. */
describe('putStream', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let spoolDir: string;
  const rec = new Recorder();
  const clients: RegistryClient[] = [];
  let n = 0;

  function fresh(opts: ConstructorParameters<typeof RegistryClient>[1] = {}) {
    const client = new RegistryClient(proxy.host, { ...FAST, log: rec.log, tmpDir: spoolDir, ...opts });
    clients.push(client);
    n++;
    const name = `stream/r${n}`;
    return { client, repo: client.repository(name), path: new RegExp(`^/v2/${name}/`) };
  }

  const stored = (repoName: string, digest: string) => storedBlob(reg, repoName, digest);

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ url: reg.url });
    spoolDir = await mkdtemp(join(tmpdir(), 'tarpush-stream-test-'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    assertNoSecrets(rec, secretsOf(reg, proxy.requests));
    assert.deepEqual(await readdir(spoolDir), [], 'no spool file left behind');
    await rm(spoolDir, { recursive: true, force: true });
    await proxy?.stop();
    await reg?.stop();
  });

  it('sends one streamed PATCH, then PUT ?digest= without a body', async () => {
    proxy.setRules([]);
    const { client, repo, path } = fresh();
    const b = randomBlob(3 << 20);
    const p = producer(b.data);
    let last = 0;
    const result = await repo.putStream(p.open, (s) => (last = s));
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.equal(last, b.size);
    assert.equal(p.opened(), 1);
    const patches = recorded(proxy.requests, 'PATCH', path);
    assert.equal(patches.length, 1);
    assert.equal(patches[0]!.bodyBytes, b.size);
    assert.equal(patches[0]!.headers['transfer-encoding'], 'chunked');
    const puts = recorded(proxy.requests, 'PUT', path);
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.bodyBytes, 0);
    assert.ok(puts[0]!.path.includes(`digest=${encodeURIComponent(b.digest)}`));
    assert.equal(client.features.patch, true);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('spools once and uploads monolithically when the registry refuses PATCH (GCR)', async () => {
    proxy.setRules([{ kind: 'no-chunked' }]);
    const { client, repo, path } = fresh();
    const b = randomBlob(3 << 20);
    const p = producer(b.data);
    const result = await repo.putStream(p.open);
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.equal(p.opened(), 1, 'the producer ran once (compress once, never twice)');
    assert.equal(client.features.patch, false);
    assert.ok(rec.of('fallback').some((e) => e.what === 'spool'));
    const puts = recorded(proxy.requests, 'PUT', path).filter((r) => r.status === 201);
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.bodyBytes, b.size);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
    // the next stream on this client skips the PATCH
    const c = randomBlob(1 << 20);
    const q = producer(c.data);
    const patchesBefore = recorded(proxy.requests, 'PATCH', path).length;
    assert.deepEqual(await repo.putStream(q.open), { digest: c.digest, size: c.size });
    assert.equal(q.opened(), 1);
    assert.equal(recorded(proxy.requests, 'PATCH', path).length, patchesBefore);
  });

  it('cuts the stream into Content-Range chunks when chunkSize is set', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob((5 << 19) + 99);
    const p = producer(b.data, 100_000);
    const result = await repo.putStream(p.open);
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.equal(p.opened(), 1);
    const patches = recorded(proxy.requests, 'PATCH', path);
    assert.deepEqual(
      patches.map((r) => r.headers['content-range']),
      ['0-1048575', '1048576-2097151', `2097152-${b.size - 1}`],
    );
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('re-opens the producer and starts over when a reset loses the session', async () => {
    proxy.setRules([{ kind: 'reset-after', bytes: 500_000, match: { method: 'PATCH' }, times: 1 }]);
    const { repo, path } = fresh();
    const b = randomBlob(2 << 20);
    const p = producer(b.data);
    const result = await repo.putStream(p.open);
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.ok(p.opened() >= 2);
    assert.equal(recorded(proxy.requests, 'POST', path).length, 2);
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('resumes a chunked stream from the Range after a reset, without re-opening the producer', async () => {
    proxy.setRules([]);
    const { repo, path } = fresh({ chunkSize: 1 << 20 });
    const b = randomBlob(3 << 20);
    const p = producer(b.data);
    let previous = -1;
    let armed = false;
    const result = await repo.putStream(p.open, (sent) => {
      // the first chunk's answer reports 1 MiB: cut the next PATCH before any byte passes
      if (!armed && sent === 1 << 20 && previous !== 1 << 20) {
        armed = true;
        proxy.setRules([{ kind: 'reset-after', bytes: 0, match: { method: 'PATCH' }, times: 1 }]);
      }
      previous = sent;
    });
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.equal(p.opened(), 1);
    assert.equal(recorded(proxy.requests, 'POST', path).length, 1);
    assert.deepEqual(
      recorded(proxy.requests, 'PATCH', path).map((r) => r.headers['content-range']),
      ['0-1048575', '1048576-2097151', '1048576-2097151', '2097152-3145727'],
    );
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('spools when a streamed PATCH passes the registry body limit, then uploads in chunks', async () => {
    proxy.setRules([{ kind: 'max-body', bytes: 1 << 20, status: 413 }]);
    const { repo } = fresh();
    const b = randomBlob(3 << 20);
    const p = producer(b.data);
    const result = await repo.putStream(p.open);
    assert.deepEqual(result, { digest: b.digest, size: b.size });
    assert.equal(p.opened(), 1, 'the first stream of a client is teed, so no second run');
    assert.deepEqual(await stored(repo.repository, b.digest), b.data);
  });

  it('uploads an empty stream, streamed and chunked', async () => {
    proxy.setRules([]);
    const empty = randomBlob(0);
    for (const opts of [{}, { chunkSize: 1000 }]) {
      const { repo } = fresh(opts);
      assert.deepEqual(await repo.putStream(() => Readable.from([])), { digest: empty.digest, size: 0 });
      assert.ok(await repo.hasBlob(empty.digest));
    }
  });

  it('surfaces a failing producer as a typed error', async () => {
    proxy.setRules([]);
    const { repo } = fresh();
    const open = () =>
      new Readable({
        read() {
          this.destroy(new Error('gzip: broken pipe'));
        },
      });
    const err = await rec.rejects(repo.putStream(open), 'ARCHIVE_UNREADABLE');
    assert.match(err.message, /gzip: broken pipe/);
  });
});
