import { ownedPrefix } from '../../src/util/stale-temp.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../support/fixtures.js';

/**
 * Temp files of a spooled stdin do not outlive the run: a signal removes them (and the CLI
 * exits 130 / 143), and what a killed run left behind is removed by the next run. Each
 * test has its own TMPDIR, so "empty afterwards" means exactly that.
 */

const bin = fileURLToPath(new URL('../../../bin/tarpush.js', import.meta.url));
const kaniko = readFileSync(join(fixturesDir, 'kaniko.tar'));

async function privateTmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tarpush-sigtest-'));
}

const until = async (what: string, cond: () => boolean, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('spool leftovers', () => {
  const runs = [
    ['SIGTERM', 143, ['push', '-', '127.0.0.1:9/never/reached:1']],
    ['SIGINT', 130, ['inspect', '-']],
  ] as const;
  for (const [signal, status, args] of runs) {
    it(`${signal} while \`${args.join(' ')}\` spools stdin removes the spool and exits ${status}`, { timeout: 30_000 }, async () => {
      const tmp = await privateTmp();
      try {
        const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += c));
        const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
        // Half the archive, then nothing: the run sits in the spool loop with a file in TMPDIR.
        child.stdin.write(kaniko.subarray(0, kaniko.length >> 1));
        await until('the spool file', () => readdirSync(tmp).some((n) => n.startsWith('tarpush-spool-')));
        const [spoolDir] = readdirSync(tmp);
        assert.match(spoolDir!, new RegExp(`^tarpush-spool-${child.pid}-`), 'the spool name carries the pid');
        await until('spooled bytes', () => readdirSync(join(tmp, spoolDir!)).length > 0);
        child.kill(signal);
        const r = await closed;
        child.stdin.destroy();
        assert.equal(r.code, status, `exit ${r.code} signal ${r.signal}: ${stderr}`);
        assert.deepEqual(readdirSync(tmp), [], 'TMPDIR is empty');
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  it("the next run removes a dead run's spool and keeps a live run's", { timeout: 30_000 }, async () => {
    const tmp = await privateTmp();
    try {
      const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
      const deadDir = `${ownedPrefix('tarpush-spool-', dead)}abcdef`;
      const liveDir = `${ownedPrefix('tarpush-spool-', process.pid)}ghijkl`; // this test process: alive
      for (const d of [deadDir, liveDir]) {
        mkdirSync(join(tmp, d));
        writeFileSync(join(tmp, d, 'archive.tar'), 'left behind');
      }
      const r = spawnSync(process.execPath, [bin, 'inspect', join(fixturesDir, 'kaniko.tar')], { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(tmp), [liveDir]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
