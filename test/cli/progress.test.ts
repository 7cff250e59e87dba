import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { progressRenderer } from '../../src/cli/progress.js';
import type { CliIO } from '../../src/cli/io.js';

function captureIO(): { io: CliIO; err: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c) => (text += c));
  return { io: { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {} }, err: () => text };
}

const digest = `sha256:${'ab'.repeat(32)}` as const;

test('plain mode logs one line per finished blob, byte counts for long uploads, and manifests', () => {
  const { io, err } = captureIO();
  let now = 0;
  const r = progressRenderer('plain', io, () => now);
  r.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 10_000_000, compressing: false });
  now = 6000;
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 5_000_000, size: 10_000_000 });
  now = 7000;
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 6_000_000, size: 10_000_000 });
  now = 10000;
  r.listener({ type: 'blob-done', place: 'reg/repo', id: digest, digest, size: 10_000_000, action: 'uploaded' });
  r.listener({ type: 'manifest', place: 'reg/repo', reference: 'v1', digest, mediaType: 'x' });
  r.end();
  const lines = err().trim().split('\n');
  assert.equal(lines.length, 3, err());
  assert.match(lines[0]!, /^sending +abababababab → reg\/repo {2}5\.0 MB\/10\.0 MB 50%/);
  assert.equal(lines[1], `uploaded  ${digest} 10.0 MB → reg/repo in 10.0s 1.0 MB/s`);
  assert.equal(lines[2], `manifest  reg/repo:v1 ${digest}`);
});

test('quiet mode writes nothing', () => {
  const { io, err } = captureIO();
  const r = progressRenderer('quiet', io);
  r.listener({ type: 'note', message: 'hello' });
  r.end();
  assert.equal(err(), '');
});

test('tty mode redraws a table of blobs in place and leaves the final frame', () => {
  const { io, err } = captureIO();
  (io.stderr as PassThrough & { isTTY?: boolean; columns?: number }).columns = 60;
  const r = progressRenderer('tty', io, () => 1000);
  const other = `sha256:${'cd'.repeat(32)}` as const;
  r.listener({ type: 'blob-start', place: 'reg/repo', id: digest, kind: 'layer', size: 2_000_000, compressing: false });
  r.listener({ type: 'blob-start', place: 'reg/repo', id: other, kind: 'config', size: 900, compressing: false });
  r.listener({ type: 'blob-progress', place: 'reg/repo', id: digest, sent: 1_000_000, size: 2_000_000 });
  r.listener({ type: 'blob-done', place: 'reg/repo', id: other, digest: other, size: 900, action: 'exists' });
  r.end();
  const frame = err();
  // One line per blob, each cleared before it is drawn, cut to the terminal width.
  const lines = frame.split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.startsWith('\x1b[2K') && l.length - 4 <= 59), JSON.stringify(lines));
  assert.match(lines[0]!, /sending +abababababab → reg\/repo {2}1\.0 MB\/2\.0 MB 50%/);
  assert.match(lines[1]!, /exists +cdcdcdcdcdcd → reg\/repo {2}900 B/);
});
