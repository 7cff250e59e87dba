import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expected, fixture, repoRoot, tempDir } from '../publish/support.js';
import { run } from '../support/exec.js';
import { tarpushCli } from '../support/tarpush-cli.js';

const tarpush = (args: string[], env: NodeJS.ProcessEnv = {}) => tarpushCli(args, { env });

test('README first command: push a fixture into an OCI layout, which skopeo reads', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  const gh = join(dir, 'gh');
  const r = await tarpush(['push', fixture('kaniko.tar'), `oci:${out}:demo`, '-t', 'second', '--json', '--digest-file', join(dir, 'digest')], {
    GITHUB_OUTPUT: gh,
    TARPUSH_CACHE_DIR: join(dir, 'cache'),
  });
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  const want = expected['kaniko.tar']!.images[0]!;
  // An OCI layout receives an OCI manifest (layout readers skip docker ones) with the same blobs.
  assert.equal(json.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.match(json.digest, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(json.references, [`oci:${out}:demo`, `oci:${out}:second`, `oci:${out}@${json.digest}`]);
  assert.equal(json.blobs.length, want.diffIds.length + 1);
  for (const b of json.blobs) assert.deepEqual(Object.keys(b).sort(), ['action', 'digest', 'place', 'size']);
  assert.equal(await readFile(join(dir, 'digest'), 'utf8'), json.digest);
  assert.match(await readFile(gh, 'utf8'), new RegExp(`^digest=${json.digest}\nimage=oci:`));
  for (const tag of ['demo', 'second']) {
    const raw = (await run('skopeo', ['inspect', '--raw', `oci:${out}:${tag}`])).stdout;
    assert.equal(JSON.parse(raw).config.digest, want.configDigest);
    const seen = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', `oci:${out}:${tag}`])).stdout);
    assert.deepEqual(seen.rootfs.diff_ids, want.diffIds);
  }
  assert.ok((await readdir(join(out, 'blobs', 'sha256'))).length >= 5);
});

test('plain progress lines on a non-TTY stderr; the reference on stdout', async (t) => {
  const dir = await tempDir(t);
  const r = await tarpush(['push', fixture('docker-archive.tar'), `oci:${join(dir, 'o')}:v1`], { TARPUSH_CACHE_DIR: join(dir, 'cache') });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^oci:.*@sha256:[a-f0-9]{64}$/);
  assert.match(r.stderr, /^uploaded +sha256:[a-f0-9]{64} .* → oci:/m);
  assert.match(r.stderr, /^manifest +oci:.*:v1 sha256:/m);
});

test('bad input exits 2 with one line naming the file; usage errors exit 2', async (t) => {
  const dir = await tempDir(t);
  const missing = await tarpush(['push', join(dir, 'nope.tar'), `oci:${join(dir, 'o')}`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^tarpush: ARCHIVE_[A-Z_]+: .*nope\.tar/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const usage = await tarpush(['push']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /USAGE/);
  const badLevel = await tarpush(['push', fixture('kaniko.tar'), 'oci:/tmp/x', '--compression-level', '12']);
  assert.equal(badLevel.code, 2);
  const unknown = await tarpush(['frobnicate']);
  assert.equal(unknown.code, 2);
});

test('--version and --help', async () => {
  const v = await tarpush(['--version']);
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  assert.equal(v.stdout, `${pkg.version}\n`);
  const h = await tarpush(['--help']);
  for (const verb of ['push', 'inspect', 'digest', 'tags', 'catalog', 'tag', 'delete']) assert.match(h.stdout, new RegExp(`^  ${verb} `, 'm'));
  const ph = await tarpush(['push', '--help']);
  assert.equal(ph.code, 0);
  for (const flag of ['--tag', '--destination', '--image', '--all', '--platform', '--format', '--compression', '--jobs', '--json', '--quiet', '--digest-file', '--insecure']) {
    assert.ok(ph.stdout.includes(flag), `push --help mentions ${flag}`);
  }
});
