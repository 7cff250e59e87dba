import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CACHE_FILE_NAME, DigestCache, type VerifiedRecord } from '../../src/cache/digest-cache.js';
import { sha256, type Digest } from '../../src/image/digest.js';

/** The digest cache is believed only when nobody but this user can have written it. */

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-cache-trust-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => join(root, `c${n++}`);
const d = (s: string): Digest => sha256(s);
const env = {} as NodeJS.ProcessEnv;
const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o7777;

const pair = (i: number, level = 0): VerifiedRecord => ({ digest: d(`blob${i}`), size: 3_000_000 + i, diffId: d(`diff${i}`), compression: 'gzip', level });

/** A cache file as an earlier run wrote it, holding one proven pair. */
async function seeded(dir: string): Promise<string> {
  const c = await DigestCache.open({ dir, env });
  c.recordVerified(pair(1));
  await c.save();
  assert.deepEqual(c.warnings, []);
  return join(dir, CACHE_FILE_NAME);
}

describe('digest cache trust', () => {
  it('creates the directory 0700 (parents too) and the file 0600, whatever the umask', async () => {
    const dir = join(fresh(), 'deeper', 'tarpush');
    const old = process.umask(0);
    try {
      const file = await seeded(dir);
      assert.equal(await mode(dir), 0o700);
      assert.equal(await mode(join(dir, '..')), 0o700);
      assert.equal(await mode(file), 0o600);
    } finally {
      process.umask(old);
    }
  });

  it('keeps verified pairs across open and save, and finds produced blobs by diff_id and level', async () => {
    const dir = fresh();
    const a = await DigestCache.open({ dir, env });
    a.recordVerified(pair(1));
    a.recordVerified(pair(2, 1));
    a.recordVerified({ ...pair(3), compression: 'none', digest: d('diff3') });
    await a.save();
    const b = await DigestCache.open({ dir, env });
    assert.deepEqual(b.warnings, []);
    assert.equal(b.isVerified(d('blob1'), d('diff1')), true);
    assert.equal(b.isVerified(d('blob1'), d('diff2')), false, 'the pair is the key, not the blob alone');
    assert.deepEqual(b.verified(d('blob2'), d('diff2')), pair(2, 1));
    assert.equal(b.verified(d('blob1'), d('diff1'))!.size, 3_000_001, 'the size, to confirm against a registry HEAD');
    assert.deepEqual(b.produced(d('diff2'), 'gzip', 1), pair(2, 1));
    assert.equal(b.produced(d('diff2'), 'gzip', 6), undefined, 'level is part of the key');
    assert.equal(b.produced(d('diff1'), 'gzip', 0), undefined, 'an archive blob was not produced by tarpush');
    assert.equal(b.isVerified(d('diff3'), d('diff3')), true);

    // Another process's pairs merge in at save; neither loses its own.
    const c = await DigestCache.open({ dir, env });
    b.recordVerified(pair(4));
    c.recordVerified(pair(5));
    await b.save();
    await c.save();
    const e = await DigestCache.open({ dir, env });
    for (const i of [1, 2, 4, 5]) assert.ok(e.isVerified(d(`blob${i}`), d(`diff${i}`)), `pair ${i}`);
  });

  it('refuses a directory others can write: no cache this run, a warning, nothing written', async () => {
    for (const m of [0o777, 0o1777, 0o770]) {
      const dir = fresh();
      await seeded(dir);
      await chmod(dir, m);
      const c = await DigestCache.open({ dir, env });
      assert.equal(c.memoryOnly, true);
      assert.equal(c.isVerified(d('blob1'), d('diff1')), false, 'nothing read from it');
      assert.equal(c.warnings.length, 1);
      const who = m & 0o002 ? 'group and others' : 'group';
      assert.match(c.warnings[0]!, new RegExp(`^digest cache ${dir} not used: the directory is writable by ${who} \\(mode ${m.toString(8).padStart(4, '0')}\\); this run goes without it`));
      c.recordVerified(pair(9));
      await c.save();
      assert.deepEqual(await readdir(dir), [CACHE_FILE_NAME]);
      await chmod(dir, 0o700);
      assert.equal((await DigestCache.open({ dir, env })).isVerified(d('blob9'), d('diff9')), false);
    }
  });

  it('refuses a tampered file (mode 0666), a symlinked file, and a file or directory of another user', async () => {
    const dir = fresh();
    const file = await seeded(dir);
    await chmod(file, 0o666);
    const c = await DigestCache.open({ dir, env });
    assert.equal(c.memoryOnly, true);
    assert.equal(c.isVerified(d('blob1'), d('diff1')), false);
    assert.match(c.warnings[0]!, new RegExp(`^digest cache ${file} not used: the file is writable by group and others \\(mode 0666\\)`));

    const dir2 = fresh();
    await mkdir(dir2, { mode: 0o700 });
    await symlink(file, join(dir2, CACHE_FILE_NAME));
    await chmod(file, 0o600);
    const s = await DigestCache.open({ dir: dir2, env });
    assert.equal(s.memoryOnly, true);
    assert.match(s.warnings[0]!, /the file is a symlink/);
  });

  it("refuses a cache directory or file owned by another user", { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async () => {
    const dir = fresh();
    const file = await seeded(dir);
    await chown(file, 4242, 4242);
    const f = await DigestCache.open({ dir, env });
    assert.equal(f.memoryOnly, true);
    assert.match(f.warnings[0]!, /the file is owned by uid 4242, not by this user \(uid 0\)/);
    await chown(file, 0, 0);
    await chown(dir, 4242, 4242);
    const g = await DigestCache.open({ dir, env });
    assert.equal(g.isVerified(d('blob1'), d('diff1')), false);
    assert.match(g.warnings[0]!, /the directory is owned by uid 4242/);
  });

  it('does not write into a directory that became writable by others after open', async () => {
    const dir = fresh();
    await seeded(dir);
    const c = await DigestCache.open({ dir, env });
    assert.equal(c.memoryOnly, false);
    c.recordVerified(pair(7));
    await chmod(dir, 0o777);
    await c.save();
    assert.match(c.warnings[0]!, /not used: the directory is writable by group and others/);
    await chmod(dir, 0o700);
    assert.equal((await DigestCache.open({ dir, env })).isVerified(d('blob7'), d('diff7')), false);
  });

  it('escapes a cache path with control characters in the warning', async () => {
    const dir = join(fresh(), 'x\ny\u001b');
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777);
    const c = await DigestCache.open({ dir, env });
    assert.doesNotMatch(c.warnings[0]!, /[\n\u001b]/);
    assert.match(c.warnings[0]!, /x\\ny\\x1b/);
  });

  it('a file written by a tarpush before this version (no verified rows) opens with no proven pairs', async () => {
    const dir = fresh();
    await mkdir(dir, { mode: 0o700 });
    const row = [d('diff1'), 'gzip', 1, d('blob1'), 5, 1];
    await writeFile(join(dir, CACHE_FILE_NAME), JSON.stringify({ version: 1, compressed: [row], locations: [] }), { mode: 0o600 });
    const c = await DigestCache.open({ dir, env });
    assert.equal(c.isVerified(d('blob1'), d('diff1')), false);
    assert.equal(c.produced(d('diff1'), 'gzip', 1), undefined);
  });
});
