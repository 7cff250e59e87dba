import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openArchive } from '../../src/archive/open.js';
import { fixturesDir } from '../support/fixtures.js';
import { tempDir } from './support/build-tar.js';

/**
 * Archives that are not seekable files: a FIFO (mkfifo), a pipe from bash's process
 * substitution (`<(…)` is /dev/fd/63). They are read once, spooled like stdin.
 */

const bin = fileURLToPath(new URL('../../../bin/tarpush.js', import.meta.url));
const kaniko = join(fixturesDir, 'kaniko.tar');

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

let n = 0;
function fifo(): string {
  const p = join(dir, `fifo-${n++}`);
  execFileSync('mkfifo', [p]);
  return p;
}

/** Write `file` into the FIFO `path` (opening it for writing, which releases its reader). */
const feed = (path: string, file: string): Promise<void> => pipeline(createReadStream(file), createWriteStream(path));

async function digestOf(path: string): Promise<string> {
  const a = await openArchive(path);
  try {
    return a.images[0]!.root.digest;
  } finally {
    await a.close();
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnRun(cmd: string, args: string[], opts: { onStderr?: (text: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('unseekable local inputs', () => {
  it('reads a FIFO with a writer like stdin: the same image as the file', { timeout: 30_000 }, async () => {
    const expected = await digestOf(kaniko);
    const p = fifo();
    const writing = feed(p, kaniko);
    const a = await openArchive(p, { tmpDir: dir });
    try {
      assert.equal(a.format, 'kaniko');
      assert.equal(a.images[0]!.root.digest, expected);
    } finally {
      await a.close();
    }
    await writing;
  });

  it('a FIFO with no writer yet: says it waits (after the bounded delay), then reads once a writer comes', { timeout: 30_000 }, async () => {
    const p = fifo();
    const notes: string[] = [];
    let writing: Promise<void> | undefined;
    const t0 = performance.now();
    const a = await openArchive(p, {
      tmpDir: dir,
      fifoNoteAfterMs: 150,
      onNote: (m) => {
        notes.push(m);
        writing = feed(p, kaniko); // the writer arrives only after the note
      },
    });
    try {
      assert.ok(performance.now() - t0 >= 150);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /waiting for a writer on FIFO .*fifo-\d+/);
      assert.equal(a.images.length, 1);
    } finally {
      await a.close();
    }
    await writing;
  });

  it('CLI: `inspect <(cat kaniko.tar)` through bash process substitution', { timeout: 30_000 }, async () => {
    const expected = await digestOf(kaniko);
    const r = await spawnRun('bash', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} inspect --json <(cat ${JSON.stringify(kaniko)})`], {
      env: { TMPDIR: dir },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { format: string; images: { digest: string }[] };
    assert.equal(out.format, 'kaniko');
    assert.equal(out.images[0]!.digest, expected);
  });

  it('CLI: a FIFO nobody writes to prints a note within a few seconds instead of hanging silently', { timeout: 30_000 }, async () => {
    const p = fifo();
    let writing: Promise<void> | undefined;
    const t0 = performance.now();
    let noteAt = 0;
    const r = await spawnRun(process.execPath, [bin, 'inspect', p], {
      env: { TMPDIR: dir },
      onStderr: (text) => {
        if (!writing && /waiting for a writer on FIFO/.test(text)) {
          noteAt = performance.now() - t0;
          writing = feed(p, kaniko);
        }
      },
    });
    await writing;
    assert.ok(writing, `no note on stderr: ${r.stderr}`);
    assert.ok(noteAt >= 2000 && noteAt < 10_000, `note after ${Math.round(noteAt)} ms`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sha256:/);
  });
});
