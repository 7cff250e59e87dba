import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fixture, tempDir } from '../publish/support.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/** Command lines as a newcomer types them: flags before, between and after the positionals. */

const layoutTags = async (dir: string): Promise<string[]> => {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '').sort();
};

test('--platform takes one value: the destination after it is still the destination', async (t) => {
  const dir = await tempDir(t);
  const r = await tarpushCli(['push', fixture('kaniko.tar'), '--platform', 'linux/amd64', `oci:${join(dir, 'o')}:v1`, '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await layoutTags(join(dir, 'o')), ['v1']);
});

test('-t before the source, and -t repeated after the destination', async (t) => {
  const dir = await tempDir(t);
  const r = await tarpushCli(['push', '-t', 'latest', fixture('kaniko.tar'), `oci:${join(dir, 'o')}:v1`, '-t', '1.0', '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await layoutTags(join(dir, 'o')), ['1.0', 'latest', 'v1']);
});

test('-d repeated, one destination each', async (t) => {
  const dir = await tempDir(t);
  const r = await tarpushCli(['push', fixture('kaniko.tar'), '-d', `oci:${join(dir, 'a')}:x`, '-d', `oci:${join(dir, 'b')}:y`, '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await layoutTags(join(dir, 'a')), ['x']);
  assert.deepEqual(await layoutTags(join(dir, 'b')), ['y']);
});

test('a -t value that is a reference or an archive is refused with a hint, before anything is read', async (t) => {
  const dir = await tempDir(t);
  const ref = await tarpushCli(['push', fixture('kaniko.tar'), `oci:${join(dir, 'o')}`, '-t', 'reg.example/app:2']);
  assert.equal(ref.code, 2);
  assert.match(ref.stderr, /^tarpush: USAGE: -t reg\.example\/app:2: -t takes a bare tag .* -d reg\.example\/app:2\n$/);
  const archive = await tarpushCli(['push', '-t', fixture('kaniko.tar'), `oci:${join(dir, 'o')}`]);
  assert.equal(archive.code, 2);
  assert.match(archive.stderr, /looks like an archive/);
  await assert.rejects(stat(join(dir, 'o')));
});

test('an output file in a missing directory is exit 2 before anything is published', async (t) => {
  const dir = await tempDir(t);
  for (const flag of ['--digest-file', '--image-name-with-digest-file', '--image-name-tag-with-digest-file']) {
    const r = await tarpushCli(['push', fixture('kaniko.tar'), `oci:${join(dir, 'o')}:v1`, flag, join(dir, 'missing', 'out.txt'), '--no-cache']);
    assert.equal(r.code, 2, flag);
    assert.match(r.stderr, new RegExp(`^tarpush: USAGE: ${flag} .*does not exist\\n$`));
  }
  const gh = await tarpushCli(['push', fixture('kaniko.tar'), `oci:${join(dir, 'o')}:v1`, '--no-cache'], { env: { GITHUB_OUTPUT: join(dir, 'nope', 'gh') } });
  assert.equal(gh.code, 2);
  await assert.rejects(stat(join(dir, 'o')), 'nothing was written');
});

test('a destination with a newline cannot inject a line into GITHUB_OUTPUT', async (t) => {
  const dir = await tempDir(t);
  const gh = join(dir, 'gh');
  const r = await tarpushCli(['push', fixture('kaniko.tar'), `oci:${join(dir, 'o')}\nimage=evil:v1`, '--no-cache'], { env: { GITHUB_OUTPUT: gh } });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
  await assert.rejects(readFile(gh));
});

test('--json names, per destination, the digest it holds and each tag with live: true', async (t) => {
  const dir = await tempDir(t);
  const r = await tarpushCli(['push', fixture('kaniko.tar'), `oci:${join(dir, 'o')}:v1`, '-t', 'v2', '--json', '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.retries, 0);
  assert.equal(json.destinations.length, 1);
  const [d] = json.destinations;
  assert.equal(d.digest, json.digest);
  assert.deepEqual(d.tags.map((x: { tag: string; live: boolean }) => [x.tag, x.live]), [['v1', true], ['v2', true]]);
});

test('a digest cache others can write is not used, and the push says so', async (t) => {
  const dir = await tempDir(t);
  const cache = join(dir, 'cache');
  await mkdir(cache, { mode: 0o777 });
  await chmod(cache, 0o777);
  const r = await tarpushCli(['push', fixture('docker-archive.tar'), `oci:${join(dir, 'o')}:v1`], { env: { TARPUSH_CACHE_DIR: cache } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /digest cache .* not used: the directory is writable by/);
  assert.deepEqual(await readdir(cache), [], 'nothing written into it');
});

test('--platform linux/x86_64 and linux/aarch64 pick the amd64 and arm64 images, as inspect understands them', async (t) => {
  const dir = await tempDir(t);
  for (const [wanted, arch] of [['linux/x86_64', 'amd64'], ['linux/aarch64', 'arm64']] as const) {
    const out = join(dir, arch);
    const r = await tarpushCli(['push', fixture('multi-platform'), `oci:${out}:v1`, '--platform', wanted, '--no-cache']);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const top = JSON.parse(await readFile(join(out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { manifests?: Array<{ platform: { architecture: string } }> };
    assert.deepEqual(top.manifests?.map((m) => m.platform.architecture), [arch]);
  }
  const bad = await tarpushCli(['push', fixture('multi-platform'), `oci:${join(dir, 'x')}:v1`, '--platform', 'linux']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^tarpush: USAGE: --platform "linux": expected os\/arch/);
});
