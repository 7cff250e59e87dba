import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../publish/support.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/** --help as a reader meets it: wrapped at words, in a useful order, every flag there. */

/** main() with stdout a terminal of `columns` (as a real one reports itself). */
async function helpAt(verb: string, columns: number): Promise<string> {
  const out = Object.assign(new PassThrough(), { isTTY: true, columns });
  const err = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  const code = await main([verb, '--help'], { stdout: out, stderr: err, stdin: new PassThrough(), env: {} });
  assert.equal(code, 0);
  return text;
}

/** The help as one line: a word cut at a line end shows up as two fragments here. */
const flat = (s: string): string => s.replace(/\s+/g, ' ');

test('push --help at 80 columns: no line too long, no word cut, Positionals and Options before Registry, --version listed', async () => {
  const help = await helpAt('push', 80);
  for (const line of help.split('\n')) assert.ok(line.length <= 80, `${line.length}: ${line}`);
  // phrases the old help cut mid-word at 80 columns ("pl ain", "re gistry", "t rusting")
  for (const whole of [' docker-archive:FILE[:repo:tag] ', ' plain layers gzipped)', ' registry reference, ', ' otherwise trusted:', ' (non-distributable) ']) {
    assert.ok(flat(help).includes(whole), `"${whole}" whole`);
  }
  const at = (s: string): number => help.indexOf(s);
  assert.ok(at('Positionals:') > 0 && at('Options:') > 0 && at('Registry:') > 0);
  assert.ok(at('Options:') < at('Registry:'), 'Options before Registry');
  assert.match(help, /\n {2}source {7}archive path/);
  assert.match(flat(help), /--version print the tarpush version/);
  assert.match(flat(help), /TARPUSH_NO_CACHE=1 \(no digest cache on disk\)/);
  assert.match(flat(help), /TARPUSH_DEBUG=1 \(stack traces/);
  assert.match(flat(help), /--insecure do not verify the registry TLS certificate \(still https: unlike kaniko and crane, plain HTTP needs --plain-http\)/);
  const narrow = await helpAt('tag', 60);
  for (const line of narrow.split('\n')) assert.ok(line.length <= 60, line);
  assert.ok(narrow.indexOf('Positionals:') < narrow.indexOf('Options:'));
});

test('push --version prints the version', async () => {
  const r = await tarpushCli(['push', '--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('--compression: zstd is offered only on a Node that writes it', async () => {
  const help = await helpAt('push', 100);
  const hasZstd = typeof (await import('node:zlib') as unknown as { createZstdCompress?: unknown }).createZstdCompress === 'function';
  if (hasZstd) {
    assert.match(help, /"zstd"/);
  } else {
    assert.match(flat(help), /keep, gzip or none \(zstd needs Node ≥ 22\.15; this is /);
    assert.ok(!help.includes('"zstd"'));
    const r = await tarpushCli(['push', 'x.tar', 'oci:/nonexistent/x', '--compression', 'zstd']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tarpush: USAGE: zstd compression needs Node ≥ 22\.15/);
  }
});

test('tarpush completion prints a bash script that completes the verbs', async (t) => {
  const r = await tarpushCli(['completion']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^###-begin-tarpush-completions-###\n/m);
  assert.match(r.stdout, /complete -o bashdefault -o default -F _tarpush_yargs_completions tarpush\n/);
  // Source it in a real bash with `tarpush` on PATH and ask for "pu<TAB>".
  const dir = await tempDir(t);
  const bin = fileURLToPath(new URL('../../../bin/tarpush.js', import.meta.url));
  await writeFile(join(dir, 'tarpush'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
  await chmod(join(dir, 'tarpush'), 0o755);
  await writeFile(join(dir, 'script.bash'), r.stdout);
  const probe = `source ${dir}/script.bash; COMP_WORDS=(tarpush pu); COMP_CWORD=1; _tarpush_yargs_completions; echo "\${COMPREPLY[*]}"`;
  const { stdout } = await promisify(execFile)('bash', ['-c', probe], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 20_000 });
  assert.equal(stdout.trim(), 'push');
});
