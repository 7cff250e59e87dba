import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { progressRenderer } from '../../src/cli/progress.js';
import { Board } from '../../src/cli/progress/board.js';
import { frameLines } from '../../src/cli/progress/layout.js';
import { clientEventLine } from '../../src/cli/progress/client-lines.js';
import type { CliIO } from '../../src/cli/io.js';
import type { PublishEvent } from '../../src/publish/events.js';

type Term = PassThrough & { isTTY?: boolean; columns?: number; rows?: number };

function captureIO(): { io: CliIO; err: () => string; stderr: Term } {
  const stderr: Term = new PassThrough();
  let text = '';
  stderr.on('data', (c) => (text += c));
  return { io: { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {} }, err: () => text, stderr };
}

const hex = (c: string) => c.repeat(32);
const digest = `sha256:${hex('ab')}` as const;
const MiB = 1024 * 1024;

test('plain mode: one full id per blob, a byte line when due, rounded units, the manifest', () => {
  const { io, err } = captureIO();
  let now = 0;
  const r = progressRenderer('plain', io, { now: () => now });
  r.listener({ type: 'blob-queued', place: 'reg/repo', id: digest, size: 10 * MiB });
  r.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 10 * MiB, compressing: false });
  now = 6000;
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 5 * MiB, size: 10 * MiB });
  now = 7000;
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 6 * MiB, size: 10 * MiB });
  now = 10000;
  r.listener({ type: 'blob-done', place: 'reg/repo', id: digest, digest, size: 10 * MiB, action: 'uploaded' });
  r.listener({ type: 'manifest', place: 'reg/repo', reference: 'v1', digest, mediaType: 'x' });
  r.end();
  const lines = err().trim().split('\n');
  assert.equal(lines.length, 3, err());
  assert.equal(lines[0], `sending     ${digest} 5.0/10.0 MiB 50% 853 KiB/s → reg/repo`);
  assert.equal(lines[1], `uploaded    ${digest} 10.0 MiB → reg/repo in 10s, 1.0 MiB/s`);
  assert.equal(lines[2], `manifest    reg/repo:v1 ${digest}`);
});

test('plain mode: a layer compressed on the way keeps its diff_id as id; the digest is told once at the end', () => {
  const { io, err } = captureIO();
  let now = 0;
  const r = progressRenderer('plain', io, { now: () => now });
  const diffId = `sha256:${hex('d1')}`;
  const id = `${diffId}>gzip:6`;
  const stored = `sha256:${hex('5e')}` as const;
  r.listener({ type: 'blob-queued', place: 'oci:out', id });
  r.listener({ type: 'blob-start', place: 'oci:out', id, kind: 'layer', compressing: true });
  now = 5000;
  r.listener({ type: 'blob-progress', place: 'oci:out', id, sent: 72 });
  now = 5500;
  r.listener({ type: 'blob-done', place: 'oci:out', id, digest: stored, size: 80, action: 'uploaded' });
  r.end();
  const lines = err().trim().split('\n');
  assert.deepEqual(lines, [
    `compressing ${diffId} 72 B 14 B/s → oci:out`,
    `uploaded    ${diffId} 80 B → oci:out in 5.5s, 15 B/s; compressed to ${stored}`,
  ]);
  assert.doesNotMatch(err(), /\d\.\d{3,}/, 'every number is rounded');
});

test('plain mode: anything in flight gets a line at least every 5 s without any event', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { io, err } = captureIO();
  let now = 0;
  const r = progressRenderer('plain', io, { now: () => now });
  r.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 50 * MiB, compressing: false });
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 1 * MiB, size: 50 * MiB });
  for (let s = 1; s <= 11; s++) {
    now = s * 1000;
    t.mock.timers.tick(1000);
  }
  r.end();
  const lines = err().trim().split('\n');
  // Lines at 4 s and 8 s: never 5 s without one.
  assert.equal(lines.length, 2, err());
  assert.ok(lines.every((l) => l.startsWith(`sending     ${digest} 1.0/50.0 MiB 2% `)), err());
});

/** 31 blobs at every stage of their life, as a 40×12 terminal would get them. */
function busyBoard(now: () => number): Board {
  const b = new Board(now);
  const feed = (e: PublishEvent) => b.apply(e);
  for (let i = 0; i < 31; i++) {
    const id = `sha256:${i.toString(16).padStart(2, '0').repeat(32)}`;
    feed({ type: 'blob-queued', place: '127.0.0.1:5000/progress/many', id, size: (i + 1) * 3 * MiB });
    if (i < 16) feed({ type: 'blob-start', place: '127.0.0.1:5000/progress/many', id, kind: 'layer', size: (i + 1) * 3 * MiB, compressing: false });
    if (i < 12) feed({ type: 'blob-done', place: '127.0.0.1:5000/progress/many', id, digest: id as `sha256:${string}`, size: (i + 1) * 3 * MiB, action: i % 3 ? 'uploaded' : 'exists' });
    else if (i < 16) feed({ type: 'blob-progress', place: '127.0.0.1:5000/progress/many', id, sent: i * MiB, size: (i + 1) * 3 * MiB });
  }
  return b;
}

test('terminal frame: clipped to the height with a summary row, every line shorter than the width, a totals line', () => {
  let now = 0;
  const board = busyBoard(() => now);
  now = 2000;
  for (const [w, h] of [
    [80, 24],
    [40, 12],
    [20, 5],
  ] as const) {
    const lines = frameLines(board, w, h, now);
    assert.ok(lines.length <= h - 1, `${w}×${h}: ${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length < w, `${w}×${h}: ${JSON.stringify(l)}`);
    assert.match(lines[lines.length - 1]!, /^12\/31( done)?(\s|$)/, `${w}×${h}: totals last`);
    assert.match(lines[lines.length - 2]!, /^… \d+ more/, `${w}×${h}: summary`);
  }
  const wide = frameLines(board, 80, 24, now);
  // Rows at work are shown (with bytes, percent and rate), then the most recently finished, in start order.
  assert.equal(wide.length, 23);
  assert.match(wide.find((l) => l.includes('0c0c0c'))!, /^sending {5}0c0c0c0c0c0c {2}12\.0\/39\.0 MiB {2}30% {2}6\.0 MiB\/s$/);
  assert.match(wide.at(-2)!, /^… 10 more: 10 waiting$/);
  assert.match(wide.at(-1)!, /^12\/31 done {2}288 MiB\/1\.5 GiB {2}27\.0 MiB\/s {2}ETA 44s$/);
  const narrow = frameLines(board, 40, 12, now);
  assert.equal(narrow.length, 11);
  assert.equal(narrow.at(-2), '… 22 more: 7 done, 15 waiting');
  assert.match(narrow.find((l) => l.includes('0c0c0c'))!, /^sending {5}0c0c0c0 {2}12\.0\/39\.0 MiB {2}30%$/, 'at 40 columns the numbers stay, the id shrinks');
});

test('terminal mode: redraws in place, notes go above, phases show, tags are printed at the end', () => {
  const { io, err, stderr } = captureIO();
  stderr.columns = 60;
  stderr.rows = 10;
  let now = 1000;
  const r = progressRenderer('tty', io, { now: () => now });
  const other = `sha256:${hex('cd')}` as const;
  r.listener({ type: 'blob-queued', place: 'reg/repo', id: digest, size: 2 * MiB });
  r.listener({ type: 'blob-queued', place: 'reg/repo', id: other, size: 900 });
  r.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 2 * MiB, compressing: false });
  r.listener({ type: 'blob-start', place: 'reg/repo', id: other, kind: 'config', size: 900, compressing: false });
  now = 2000;
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 2 * MiB, size: 2 * MiB });
  r.listener({ type: 'blob-done', place: 'reg/repo', id: other, digest: other, size: 900, action: 'exists' });
  r.clientEvent({ type: 'retry', method: 'PUT', url: 'http://127.0.0.1:1/v2/x', attempt: 1, of: 5, delayMs: 300, reason: '503' });
  r.listener({ type: 'blob-done', place: 'reg/repo', id: digest, digest, size: 2 * MiB, action: 'uploaded' });
  r.listener({ type: 'blob-phase', place: 'reg/repo', digest, phase: 'verifying' });
  r.end();
  const mid = err();
  assert.match(mid, /\x1b\[2Kcommitting {2}abababababab {2}2\.0 MiB\/2\.0 MiB|\x1b\[2Kcommitting  abababababab {2}2\.0\/2\.0 MiB/);
  assert.match(mid, /retry 1\/5 after 503: PUT http:\/\/127\.0\.0\.1:1\/v2\/x\n/);
  assert.equal(r.retries(), 1);
  const { io: io2, err: err2, stderr: s2 } = captureIO();
  s2.columns = 60;
  const r2 = progressRenderer('tty', io2, { now: () => now });
  r2.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 2 * MiB, compressing: false });
  r2.listener({ type: 'blob-done', place: 'reg/repo', id: digest, digest, size: 2 * MiB, action: 'uploaded' });
  r2.listener({ type: 'blob-phase', place: 'reg/repo', digest, phase: 'verifying' });
  r2.listener({ type: 'manifest', place: 'reg/repo', reference: 'v1', digest, mediaType: 'x' });
  r2.end();
  const lastFrame = err2().split('\r').at(-1)!;
  assert.match(lastFrame, /\x1b\[2Kverifying {3}abababababab {2}2\.0 MiB\n/);
  assert.match(lastFrame, new RegExp(`\\nwrote reg/repo:v1@${digest}\\n$`));
});

test('client lines: retries and fallbacks always; requests only with --verbose', () => {
  assert.equal(clientEventLine({ type: 'request', method: 'HEAD', url: 'http://h/v2/r/blobs/x', status: 404, ms: 3 }, false), undefined);
  assert.equal(clientEventLine({ type: 'request', method: 'HEAD', url: 'http://h/v2/r/blobs/x', status: 404, ms: 3 }, true), 'HEAD http://h/v2/r/blobs/x 404 3 ms');
  assert.equal(clientEventLine({ type: 'fallback', what: 'mount', reason: 'registry answered 202' }, false), 'fallback mount: registry answered 202');
  assert.equal(clientEventLine({ type: 'fallback', what: 'http', reason: 'https failed' }, false), undefined);
  assert.equal(clientEventLine({ type: 'upload', digest: 'sha256:x', path: 'chunked', bytes: 5 * MiB }, true), 'upload sha256:x by chunked (5.0 MiB)');
});

test('quiet mode writes nothing', () => {
  const { io, err } = captureIO();
  const r = progressRenderer('quiet', io);
  r.listener({ type: 'note', message: 'hello' });
  r.clientEvent({ type: 'fallback', what: 'mount', reason: 'x' });
  r.end();
  assert.equal(err(), '');
});
