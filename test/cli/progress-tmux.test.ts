/**
 * The terminal progress in a real terminal: tmux runs `tarpush push` of a 31-layer image
 * through a proxy that slows the registry down, at 80×24 and 40×12, and the test reads the
 * pane back with its scrollback. The live region must fit the pane, leave no copies of blob
 * rows in scrollback, end with a totals line, and be followed by the tags written. A normalised
 * capture (digits and ids masked) is kept next to this file and compared.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, tempDir } from '../publish/support.js';
import { run } from '../support/exec.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { makeTinyImage } from '../support/tiny-image.js';

const LAYERS = 31;
const snapshotDir = join(repoRoot, 'test', 'cli');

async function tmuxMissing(): Promise<string | undefined> {
  try {
    await run('tmux', ['-V']);
    return undefined;
  } catch {
    return 'tmux is not installed';
  }
}

/** Hex ids, then numbers, then units: what changes from run to run. */
export function normalise(capture: string): string {
  return capture
    .replace(/127\.0\.0\.1:\d+/g, 'HOST')
    .replace(/sha256:[0-9a-f]{64}/g, 'DIGEST')
    .replace(/\b[0-9a-f]{7,12}\b/g, 'ID')
    .replace(/\d+(\.\d+)?/g, '#')
    .replace(/# (B|KiB|MiB|GiB)\b/g, '#U')
    .replace(/#\/#U/g, '#U/#U');
}

const skip = await tmuxMissing();

describe('terminal progress in tmux', { skip }, () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let image: string;
  let work: string;
  const socket = `tarpush-test-${process.pid}`;
  let conf = '/dev/null';
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, '-f', conf, ...args]);

  before(async () => {
    reg = await startRegistry();
    // Every request waits: pushing 32 blobs, four at a time, takes a few seconds to watch.
    proxy = await startFaultProxy({ url: reg.url }, [
      { kind: 'delay', ms: 150, match: { method: 'HEAD' } },
      { kind: 'delay', ms: 250, match: { method: 'PUT' } },
    ]);
    const holder = { after: (fn: () => Promise<void>) => void cleanups.push(fn) };
    work = await tempDir(holder);
    // No status line: the pane is the whole window from the first frame on.
    conf = join(work, 'tmux.conf');
    await writeFile(conf, 'set -g status off\nset -g history-limit 5000\n');
    // One idle session keeps the server up between tests (a server whose last session ends
    // exits, and the next test's new-session could meet it on its way out).
    await tmux('new-session', '-d', '-s', 'keep', '-x', '20', '-y', '5', 'sleep 600');
    const layers = Array.from({ length: LAYERS }, (_, i) => ({ [`layer-${i}.bin`]: randomBytes(24 * 1024 + i * 512).toString('base64') }));
    image = (await makeTinyImage(join(work, 'image'), { layers, seed: 'progress' })).dir;
  });
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    await tmux('kill-server').catch(() => {});
    await proxy?.stop();
    await reg?.stop();
    for (const c of cleanups) await c();
  });

  async function pushIn(
    width: number,
    height: number,
    repo: string,
    resizeTo?: [number, number],
  ): Promise<{ pane: string; rows: string[]; lines: string[]; size: [number, number] }> {
    const session = `p${width}x${height}${resizeTo ? `to${resizeTo.join('x')}` : ''}`;
    const script = join(work, `${session}.sh`);
    const bin = join(repoRoot, 'bin', 'tarpush.js');
    const cache = join(work, 'cache');
    await writeFile(
      script,
      [
        'unset CI',
        'sleep 0.3',
        `export XDG_CACHE_HOME='${cache}'`,
        `'${process.execPath}' '${bin}' push '${image}' '${proxy.host}/${repo}:v1' -t v2 --no-cache`,
        'echo "EXIT=$?"',
        'sleep 120',
      ].join('\n'),
    );
    await tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), `sh '${script}'`);
    let pane = '';
    for (let i = 0; i < 300 && !/EXIT=\d+/.test(pane); i++) {
      await sleep(100);
      // Mid-push, once blob rows are on screen: the terminal gets smaller (SIGWINCH).
      if (resizeTo && i === 15) await tmux('resize-window', '-t', session, '-x', String(resizeTo[0]), '-y', String(resizeTo[1]));
      pane = (await tmux('capture-pane', '-p', '-S', '-', '-t', session)).stdout;
    }
    // Joined: a line the terminal wrapped (a long reference) is one line again.
    const joined = (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)).stdout;
    const size = (await tmux('display-message', '-p', '-t', session, '#{pane_width} #{pane_height}')).stdout.trim().split(' ').map(Number) as [number, number];
    await tmux('kill-session', '-t', session);
    const lines = joined.replace(/\n+$/, '').split('\n');
    return { pane: joined, rows: pane.replace(/\n+$/, '').split('\n'), lines, size };
  }

  for (const [width, height] of [
    [80, 24],
    [40, 12],
  ] as const) {
    test(`${width}×${height}: rows fit, no copies in scrollback, totals, tags`, async () => {
      const repo = `progress/w${width}`;
      const { pane, rows, lines, size } = await pushIn(width, height, repo);
      assert.match(pane, /EXIT=0/, pane);
      const [w, h] = size;
      assert.equal(w, width);
      // Progress lines are shorter than the pane (a full-width line wraps on some terminals
      // and breaks the redraw); only the references printed at the end may wrap.
      const progressLine = /^(?:(?:done|exists|mounted|sending|compressing|committing|checking|verifying|waiting) |… |\d+\/\d+)/;
      for (const l of lines) if (progressLine.test(l)) assert.ok([...l].length < w, `longer than ${w}: ${JSON.stringify(l)}`);
      assert.ok(rows.every((l) => [...l].length <= w));
      // The whole scrollback: one fallback line (distribution ignores a blob sent with the
      // POST, told once), the last frame (at most h − 1 lines), two tags, stdout's reference,
      // the exit line. Frames drawn before the last one left nothing behind.
      assert.equal(lines.filter((l) => progressLine.test(l)).length, h - 1, pane);
      assert.ok(lines.length <= h - 1 + 5, `${lines.length} lines in scrollback:\n${pane}`);
      const ids = lines.map((l) => /^(?:done|exists|mounted|sending|committing|checking|verifying|waiting)\s+([0-9a-f]{7,12})\b/.exec(l)?.[1]).filter(Boolean);
      assert.equal(new Set(ids).size, ids.length, `a blob row twice:\n${pane}`);
      assert.ok(ids.length > 0 && ids.length < LAYERS + 1, `clipped rows: ${ids.length}`);
      assert.match(pane, /^… \d+ more: \d+ done$/m, 'a summary row for the rows that do not fit');
      assert.match(pane, new RegExp(`^${LAYERS + 1}/${LAYERS + 1}( done)? +\\S`, 'm'), 'a totals line');
      for (const tag of ['v1', 'v2']) assert.match(pane, new RegExp(`^wrote 127\\.0\\.0\\.1:\\d+/${repo}:${tag}@sha256:[0-9a-f]{64}$`, 'm'));
      const snapshot = join(snapshotDir, `progress-tmux.${width}x${height}.txt`);
      const shape = `${normalise(pane.replace(/\n+$/, ''))}\n`;
      // TARPUSH_UPDATE_SNAPSHOTS=1 writes the capture anew (review the diff before committing it).
      if (process.env.TARPUSH_UPDATE_SNAPSHOTS) await writeFile(snapshot, shape);
      assert.ok(existsSync(snapshot), `${snapshot} is missing: run with TARPUSH_UPDATE_SNAPSHOTS=1`);
      assert.equal(shape, await readFile(snapshot, 'utf8'));
    });
  }

  test('a resize mid-push (80×24 → 50×16): the region follows, nothing left behind', async () => {
    const { pane, lines, size } = await pushIn(80, 24, 'progress/resized', [50, 16]);
    assert.match(pane, /EXIT=0/, pane);
    const [w, h] = size;
    assert.deepEqual([w, h], [50, 16]);
    const progressLine = /^(?:(?:done|exists|mounted|sending|compressing|committing|checking|verifying|waiting) |… |\d+\/\d+)/;
    const frame = lines.filter((l) => progressLine.test(l));
    // Shrinking the pane pushes the rows above the new height into the scrollback (tmux does
    // that, not us), and tmux tells the program (SIGWINCH) only a moment later, so a frame drawn
    // for the old height in between loses its top rows the same way: at most twice 24 − 16
    // rows. The rest is the last frame, drawn for 50×16.
    const stale = 2 * (24 - h);
    assert.ok(frame.length <= h - 1 + stale, pane);
    const last = frame.slice(-(h - 1));
    assert.match(last.at(-1)!, /^32\/32 done/);
    for (const l of last) assert.ok([...l].length < w, `longer than ${w}: ${JSON.stringify(l)}`);
    assert.ok(lines.length <= h - 1 + stale + 5, `${lines.length} lines in scrollback:\n${pane}`);
  });
});
