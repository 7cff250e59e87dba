import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { makeMalformedCorpus, type MalformedCase } from './make-malformed.js';

/**
 * The CLI face of the corpus: every malformed archive gives exactly one line
 * `tarpush: CODE: message` on stderr, nothing on stdout, and exit status 2.
 * (`push` runs the same readers before its first request; `inspect` needs no registry.)
 */
let dir: string;
let cases: MalformedCase[];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tarpush-corpus-cli-'));
  cases = await makeMalformedCorpus(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('every malformed archive: one line with its code on stderr, exit status 2', async () => {
  const wrong: string[] = [];
  for (const c of cases) {
    let err = '';
    let out = '';
    const stderr = new PassThrough();
    const stdout = new PassThrough();
    stderr.on('data', (d) => (err += d));
    stdout.on('data', (d) => (out += d));
    const args = ['inspect', c.file, ...(c.needsVerify ? ['--verify'] : [])];
    const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env: {} });
    const lines = err.trimEnd().split('\n');
    const accepted = [c.expectCode, ...(c.alsoAccept ?? [])];
    const m = /^tarpush: ([A-Z_]+): \S/.exec(lines[0] ?? '');
    if (code !== 2 || lines.length !== 1 || !m || !accepted.includes(m[1] as never) || out !== '') {
      wrong.push(`${c.name}: exit ${code}, stderr ${JSON.stringify(err.slice(0, 200))}, want ${accepted.join('|')}`);
    }
  }
  assert.ok(cases.length >= 45);
  assert.deepEqual(wrong, []);
});
