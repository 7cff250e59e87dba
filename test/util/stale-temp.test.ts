import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ownedPrefix, ownerPid, processAlive, removeStaleTemps } from '../../src/util/stale-temp.js';

/** The pid of a process that has exited (and was reaped): nothing runs under it now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  assert.ok(pid > 0 && !processAlive(pid), `pid ${pid} is gone`);
  return pid;
}

describe('stale temp files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tarpush-stale-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names carry the owning pid', () => {
    const name = `${ownedPrefix('tarpush-spool-')}abc123`;
    assert.equal(ownerPid(name, 'tarpush-spool-'), process.pid);
    assert.equal(ownerPid('tarpush-spool-abc123', 'tarpush-spool-'), undefined);
    // Another host's pid says nothing here: such names age out instead.
    assert.equal(ownerPid(`tarpush-spool-${process.pid}-00000000-abc`, 'tarpush-spool-'), undefined);
  });

  it("removes a dead run's entries and old unowned ones; keeps live runs', recent ones and other names", async () => {
    const dead = deadPid();
    const live = process.ppid; // the test runner: alive for the whole test
    const mk = (name: string, ageMs = 0): string => {
      const p = join(dir, name);
      mkdirSync(p);
      writeFileSync(join(p, 'archive.tar'), 'x');
      if (ageMs) utimesSync(p, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
      return p;
    };
    const day = 24 * 3600 * 1000;
    const deadDir = mk(`${ownedPrefix('tarpush-spool-', dead)}aaaaaa`);
    const liveDir = mk(`${ownedPrefix('tarpush-spool-', live)}bbbbbb`);
    const ownDir = mk(`${ownedPrefix('tarpush-spool-')}cccccc`, 2 * day);
    const oldLegacy = mk('tarpush-spool-dddddd', 2 * day);
    const newLegacy = mk('tarpush-spool-eeeeee');
    const oldLive = mk(`${ownedPrefix('tarpush-spool-', live)}ffffff`, 2 * day);
    const other = mk(`other-${dead}-gggggg`, 2 * day);
    const removed = await removeStaleTemps(dir, 'tarpush-spool-');
    assert.deepEqual(removed.sort(), [`${ownedPrefix('tarpush-spool-', dead)}aaaaaa`, 'tarpush-spool-dddddd', `${ownedPrefix('tarpush-spool-', live)}ffffff`].sort());
    assert.equal(existsSync(deadDir), false);
    assert.equal(existsSync(oldLegacy), false);
    assert.equal(existsSync(oldLive), false, 'a day old: the pid may have been reused');
    for (const kept of [liveDir, ownDir, newLegacy, other]) assert.ok(existsSync(kept), `${kept} kept`);
  });

  it('a missing directory sweeps nothing', async () => {
    assert.deepEqual(await removeStaleTemps(join(dir, 'absent'), 'tarpush-spool-'), []);
  });
});
