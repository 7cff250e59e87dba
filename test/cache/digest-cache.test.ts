import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CACHE_FILE_NAME, DigestCache, type VerifiedRecord } from '../../src/cache/digest-cache.js';
import { cacheDir, cacheDisabled } from '../../src/cache/cache-dir.js';
import { sha256, type Digest } from '../../src/image/digest.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-cache-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function freshDir(): Promise<string> {
  const d = join(root, `c${n++}`);
  await mkdir(d);
  return d;
}

const d = (s: string | number): Digest => sha256(String(s));
const env = {} as NodeJS.ProcessEnv;

/** A blob tarpush produced at gzip level `level` and proved to decompress to diff${i}. */
function verifiedRecord(i: number, level = 6): VerifiedRecord {
  return { digest: d(`gz${i}`), size: 1000 + i, diffId: d(`diff${i}`), compression: 'gzip', level };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('DigestCache', () => {
  it('round-trips produced pairs and locations through the file', async () => {
    const dir = await freshDir();
    const a = await DigestCache.open({ dir, env });
    assert.equal(a.produced(d('diff1'), 'gzip', 6), undefined);
    a.recordVerified(verifiedRecord(1));
    a.recordVerified({ ...verifiedRecord(1, 1), digest: d('gz1-level1'), size: 5 });
    a.recordLocation(d('blob'), 'reg.example:5000', 'team/app');
    a.recordLocation(d('blob'), 'other.example', 'x/y');
    await a.save();

    const b = await DigestCache.open({ dir, env });
    assert.deepEqual(b.produced(d('diff1'), 'gzip', 6), verifiedRecord(1));
    assert.equal(b.produced(d('diff1'), 'gzip', 1)!.digest, d('gz1-level1'));
    assert.equal(b.produced(d('diff1'), 'zstd', 6), undefined, 'compression is part of the key');
    assert.deepEqual(b.repositoriesHolding(d('blob'), 'reg.example:5000'), ['team/app']);
    assert.deepEqual(b.repositoriesHolding(d('blob'), 'other.example'), ['x/y']);
    assert.deepEqual(b.repositoriesHolding(d('blob'), 'nowhere.example'), []);
    const text = await readFile(join(dir, CACHE_FILE_NAME), 'utf8');
    assert.equal(JSON.parse(text).version, 1);
  });

  it('a file with the old unproven "compressed" rows: they are not believed, and the next save drops them', async () => {
    const dir = await freshDir();
    const file = join(dir, CACHE_FILE_NAME);
    const old = [d('diff1'), 'gzip', 6, d('gz1'), 1001, 1];
    await writeFile(file, JSON.stringify({ version: 1, compressed: [old], locations: [[d('blob'), 'reg', 'repo', 1]], verified: [] }));
    const c = await DigestCache.open({ dir, env });
    assert.equal(c.produced(d('diff1'), 'gzip', 6), undefined, 'an unproven row is no produced blob');
    assert.deepEqual(c.repositoriesHolding(d('blob'), 'reg'), ['repo'], 'the rest of the file is read');
    c.recordVerified(verifiedRecord(2));
    await c.save();
    const doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    assert.equal(doc['compressed'], undefined);
    assert.deepEqual((await DigestCache.open({ dir, env })).size, { locations: 1, verified: 1 });
  });

  it('round-trips claimed pairings, apart from verified ones, most recent first, at most 4 per diff_id', async () => {
    const dir = await freshDir();
    const clock = manualClock();
    const a = await DigestCache.open({ dir, env, now: clock.now });
    for (let i = 0; i < 6; i++) {
      a.recordClaimed({ diffId: d('diff'), compression: 'gzip', digest: d(`claimed${i}`), size: i });
      clock.advance(1000);
    }
    a.recordClaimed({ diffId: d('diff'), compression: 'zstd', digest: d('zst'), size: 9 });
    await a.save();
    const b = await DigestCache.open({ dir, env });
    assert.deepEqual(b.claimed(d('diff'), 'gzip').map((c) => c.digest), [5, 4, 3, 2].map((i) => d(`claimed${i}`)));
    assert.deepEqual(b.claimed(d('diff'), 'zstd'), [{ diffId: d('diff'), compression: 'zstd', digest: d('zst'), size: 9 }]);
    assert.equal(b.isVerified(d('claimed5'), d('diff')), false, 'a claim is not a proof');
    assert.equal(b.produced(d('diff'), 'gzip', 1), undefined);
  });

  it('lists the repositories holding a blob most recent first, at most 8', async () => {
    const clock = manualClock();
    const c = DigestCache.memory({ now: clock.now });
    for (let i = 0; i < 12; i++) {
      c.recordLocation(d('blob'), 'reg', `repo${i}`);
      clock.advance(1000);
    }
    c.recordLocation(d('blob'), 'reg', 'repo5'); // seen again: now the most recent
    const repos = c.repositoriesHolding(d('blob'), 'reg');
    assert.equal(repos.length, 8);
    assert.deepEqual(repos, ['repo5', 'repo11', 'repo10', 'repo9', 'repo8', 'repo7', 'repo6', 'repo4']);
  });

  it('merges what another process saved meanwhile', async () => {
    const dir = await freshDir();
    const clock = manualClock();
    const a = await DigestCache.open({ dir, env, now: clock.now });
    const b = await DigestCache.open({ dir, env, now: clock.now });
    a.recordVerified(verifiedRecord(1));
    a.recordLocation(d('blob'), 'reg', 'from-a');
    b.recordVerified(verifiedRecord(2));
    b.recordLocation(d('blob'), 'reg', 'from-b');
    clock.advance(10);
    // Both know record 3; b's is newer and must win.
    a.recordVerified({ ...verifiedRecord(3), size: 1 });
    clock.advance(10);
    b.recordVerified({ ...verifiedRecord(3), size: 2 });
    await a.save();
    await b.save();

    const c = await DigestCache.open({ dir, env });
    assert.deepEqual(c.produced(d('diff1'), 'gzip', 6), verifiedRecord(1));
    assert.deepEqual(c.produced(d('diff2'), 'gzip', 6), verifiedRecord(2));
    assert.equal(c.produced(d('diff3'), 'gzip', 6)!.size, 2);
    assert.deepEqual(new Set(c.repositoriesHolding(d('blob'), 'reg')), new Set(['from-a', 'from-b']));
    // b saw a's entries while saving, and the temp files are gone.
    assert.ok(b.produced(d('diff1'), 'gzip', 6));
    assert.deepEqual(await readdir(dir), [CACHE_FILE_NAME]);
  });

  it('tolerates a corrupt, foreign or unreadable cache file', async () => {
    const dir = await freshDir();
    const file = join(dir, CACHE_FILE_NAME);
    for (const junk of ['{not json', '[]', 'null', '{"version":99,"compressed":[]}', '\u0000\u0001binary']) {
      await writeFile(file, junk);
      const c = await DigestCache.open({ dir, env });
      assert.equal(c.size.verified, 0, `content ${JSON.stringify(junk)}`);
      c.recordVerified(verifiedRecord(1));
      await c.save();
      const again = await DigestCache.open({ dir, env });
      assert.deepEqual(again.produced(d('diff1'), 'gzip', 6), verifiedRecord(1), 'a good file replaces the bad one');
    }

    // Rows of the wrong shape are skipped one by one; good rows survive.
    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        compressed: [[d('ok'), 'gzip', 6, d('gz'), 10, 1], ['sha256:short', 'gzip', 6, d('gz'), 10, 1], [d('x'), 'brotli', 6, d('gz'), 10, 1], 'junk'],
        locations: [[d('ok'), 'reg', 'repo', 1], [d('ok'), '', 'repo', 1], [d('ok'), 'reg', 7, 1]],
        verified: [[d('gz'), d('ok'), 10, 'gzip', 0, 1], [d('gz'), d('ok'), 10, 'lz4', 0, 1], [d('gz'), 'sha256:x', 10, 'gzip', 0, 1], [d('gz'), d('ok'), -1, 'none', 0, 1]],
      }),
    );
    const partial = await DigestCache.open({ dir, env });
    assert.deepEqual(partial.size, { locations: 1, verified: 1 });

    // A directory where the file should be: cannot read, cannot write; neither throws.
    const dir2 = await freshDir();
    await mkdir(join(dir2, CACHE_FILE_NAME));
    const c = await DigestCache.open({ dir: dir2, env });
    c.recordVerified(verifiedRecord(1));
    await c.save();
    assert.deepEqual((await readdir(dir2)).sort(), [CACHE_FILE_NAME], 'no temp file left behind');
  });

  it('evicts the least recently used entries beyond the cap', async () => {
    const dir = await freshDir();
    const clock = manualClock();
    const c = await DigestCache.open({ dir, env, maxEntries: 100, now: clock.now });
    for (let i = 0; i < 150; i++) {
      c.recordVerified(verifiedRecord(i));
      c.recordLocation(d(`blob${i}`), 'reg', 'repo');
      clock.advance(1000);
    }
    await c.save();
    const r = await DigestCache.open({ dir, env, maxEntries: 100 });
    assert.deepEqual(r.size, { locations: 100, verified: 100 });
    assert.equal(r.isVerified(d('gz49'), d('diff49')), false);
    assert.equal(r.produced(d('diff49'), 'gzip', 6), undefined, 'the produced index follows eviction');
    assert.deepEqual(r.produced(d('diff50'), 'gzip', 6), verifiedRecord(50));
    assert.ok(r.produced(d('diff149'), 'gzip', 6));
    assert.deepEqual(r.repositoriesHolding(d('blob49'), 'reg'), []);
    assert.deepEqual(r.repositoriesHolding(d('blob50'), 'reg'), ['repo']);
  });

  it('a hit on an old entry keeps it from eviction; fresh hits write nothing', async () => {
    const dir = await freshDir();
    const clock = manualClock();
    const c = await DigestCache.open({ dir, env, maxEntries: 2, now: clock.now });
    c.recordVerified(verifiedRecord(1));
    clock.advance(1000);
    c.recordVerified(verifiedRecord(2));
    await c.save();
    const file = join(dir, CACHE_FILE_NAME);
    const before = await readFile(file, 'utf8');
    const reader = await DigestCache.open({ dir, env, maxEntries: 2, now: clock.now });
    assert.ok(reader.produced(d('diff1'), 'gzip', 6));
    await reader.save();
    assert.equal(await readFile(file, 'utf8'), before, 'a recent hit does not rewrite the file');

    clock.advance(2 * 24 * 3600 * 1000);
    const later = await DigestCache.open({ dir, env, maxEntries: 2, now: clock.now });
    assert.ok(later.produced(d('diff1'), 'gzip', 6)); // refreshed: now newer than record 2
    later.recordVerified(verifiedRecord(3));
    await later.save();
    const r = await DigestCache.open({ dir, env, maxEntries: 2 });
    assert.ok(r.produced(d('diff1'), 'gzip', 6));
    assert.equal(r.produced(d('diff2'), 'gzip', 6), undefined);
  });

  it('TARPUSH_NO_CACHE=1 gives a memory-only cache that writes nothing', async () => {
    const dir = await freshDir();
    const c = await DigestCache.open({ dir, env: { TARPUSH_NO_CACHE: '1' } });
    assert.equal(c.memoryOnly, true);
    c.recordVerified(verifiedRecord(1));
    assert.deepEqual(c.produced(d('diff1'), 'gzip', 6), verifiedRecord(1));
    await c.save();
    assert.deepEqual(await readdir(dir), []);
    assert.equal(cacheDisabled({ TARPUSH_NO_CACHE: 'true' }), true);
    assert.equal(cacheDisabled({ TARPUSH_NO_CACHE: '0' }), false);
    assert.equal(cacheDisabled({ TARPUSH_NO_CACHE: '' }), false);
    assert.equal(cacheDisabled({}), false);
  });

  it('finds its directory from TARPUSH_CACHE_DIR, XDG_CACHE_HOME, then HOME', () => {
    assert.equal(cacheDir({ TARPUSH_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/tarpush');
    assert.equal(cacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), '/h/.cache/tarpush');
    assert.equal(cacheDir({ HOME: '/h' }), '/h/.cache/tarpush');
  });

  it('opens from the environment when no dir is given', async () => {
    const dir = await freshDir();
    const c = await DigestCache.open({ env: { TARPUSH_CACHE_DIR: dir } });
    c.recordVerified(verifiedRecord(1));
    await c.save();
    assert.deepEqual(await readdir(dir), [CACHE_FILE_NAME]);
  });

  it('loads a full 10,000-entry file quickly', async (t) => {
    const dir = await freshDir();
    const c = await DigestCache.open({ dir, env });
    for (let i = 0; i < 10_000; i++) {
      c.recordVerified(verifiedRecord(i));
      c.recordLocation(d(`blob${i}`), 'registry.example.com', `team/app${i % 50}`);
    }
    await c.save();
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(join(dir, CACHE_FILE_NAME)));
    let bestOpen = Infinity;
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      const r = await DigestCache.open({ dir, env });
      const t1 = process.hrtime.bigint();
      assert.deepEqual(r.produced(d('diff9999'), 'gzip', 6), verifiedRecord(9999)); // first lookup parses
      const t2 = process.hrtime.bigint();
      bestOpen = Math.min(bestOpen, Number(t1 - t0) / 1e6);
      best = Math.min(best, Number(t2 - t0) / 1e6);
      assert.deepEqual(r.size, { locations: 10_000, verified: 10_000 });
    }
    t.diagnostic(
      `10,000 + 10,000 entries, ${(size / 1e6).toFixed(2)} MB: open() ${bestOpen.toFixed(1)} ms, open() + first lookup ${best.toFixed(1)} ms (best of 5)`,
    );
    assert.ok(best < 500, `open took ${best} ms`);
  });
});
