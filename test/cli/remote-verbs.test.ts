import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../support/fixtures.js';
import { startRegistry, type RegistryHandle, type TestUser } from '../support/registry.js';
import { clientOptionsFor, emptyHome, seeded, seedRegistry, skopeoConfig, skopeoDigest, skopeoFinds, skopeoRaw, skopeoTags } from '../remote/support.js';
import { addTags } from '../../src/remote/index.js';
import { main } from '../../src/cli/main.js';
import { PassThrough, Readable } from 'node:stream';

/**
 * The remote verbs as a user runs them: `node bin/tarpush.js <verb> …` in a child process
 * (build first) for the main case of each verb, checking stdout, stderr and the exit status
 * against skopeo's view; usage and error paths run the same `main` in this process (a child
 * costs ~0.3 s of start-up each).
 */

const bin = join(repoRoot, 'bin/tarpush.js');
const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: { dir: string; remove(): Promise<void> };
before(async () => {
  home = await emptyHome();
});
after(() => home.remove());

/** Run the CLI with a clean environment (no credentials but the ones given). */
function tarpush(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home.dir, ...opts.env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** The CLI's `main` in this process, with captured output and the same clean environment. */
async function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  err.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await main(args, { stdout: out, stderr: err, stdin: Readable.from([opts.input ?? '']), env: { HOME: home.dir, ...opts.env } });
  return { code, stdout, stderr };
}

/** Output must never show a password of the registry's users. */
function noSecrets(reg: RegistryHandle, ...runs: Ran[]): void {
  for (const r of runs) for (const u of Object.values(reg.users)) assert.ok(!r.stdout.includes(u.password) && !r.stderr.includes(u.password), 'a password was printed');
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

describe('remote verbs against an anonymous registry', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'anonymous' });
    await seedRegistry(reg);
  });
  after(() => reg.stop());

  test('digest prints what skopeo reports; --platform the platform manifest; errors exit 2 / 1', async () => {
    const r = await tarpush(['digest', `${reg.host}/${seeded.multi}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${await skopeoDigest(reg, seeded.multi)}\n`);
    assert.equal(r.stderr, '');
    const index = JSON.parse(await skopeoRaw(reg, seeded.multi)) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const arm = await cli(['digest', `${reg.host}/${seeded.multi}`, '--platform', 'linux/arm64/v8']);
    assert.equal(arm.stdout, `${index.manifests.find((m) => m.platform.architecture === 'arm64')!.digest}\n`);
    const bad = await cli(['digest', `${reg.host}/Fx/Demo:v1`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^tarpush: REFERENCE_INVALID: .*lowercase/);
    const missing = await tarpush(['digest', `${reg.host}/fx/demo:nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^tarpush: NOT_FOUND: /);
    assert.equal(missing.stdout, '');
    const platform = await cli(['digest', `${reg.host}/${seeded.multi}`, '--platform', 'linux']);
    assert.equal(platform.code, 2);
    assert.match(platform.stderr, /USAGE: --platform "linux"/);
    const usage = await cli(['digest']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^tarpush: USAGE: missing argument \(got 0, need at least 1\): usage: tarpush digest <reference>/);
  });

  test('inspect --json has the archive shape and skopeo\'s config facts; human output one block per platform', async () => {
    const r = await tarpush(['inspect', `${reg.host}/${seeded.multi}`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { images: { platform: { architecture: string }; digest: string; config: { digest: string }; layers: { diffId: string; compression: string }[] }[] };
    assert.deepEqual(out.images.map((i) => i.platform.architecture), ['amd64', 'arm64']);
    for (const [image, arch] of [[out.images[0]!, { arch: 'amd64' }], [out.images[1]!, { arch: 'arm64', variant: 'v8' }]] as const) {
      const config = await skopeoConfig(reg, seeded.multi, arch);
      assert.equal(image.config.digest, sha256(config));
      assert.deepEqual(image.layers.map((l) => l.diffId), (JSON.parse(config) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids);
    }
    const human = await cli(['inspect', `${reg.host}/${seeded.multi}`, '--platform', 'linux/arm64']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^image 0: .*fx\/multi:v1\n {2}platform: linux\/arm64\/v8\n {2}index: {4}sha256:/);
    assert.match(human.stdout, /layers: {3}\d+, /);
    assert.doesNotMatch(human.stdout, /image 1:/);
  });

  test('tags: one per line in skopeo\'s order; --json; an emptied repository prints nothing / []', async () => {
    await addTags(`${reg.host}/${seeded.oci}`, ['b', 'a', '2.0'], { clientOptions: clientOptionsFor(reg, home.dir) });
    const r = await tarpush(['tags', `${reg.host}/fx/demo`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), await skopeoTags(reg, 'fx/demo'));
    const json = await cli(['tags', `${reg.host}/fx/demo`, '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { name: `${reg.host}/fx/demo`, tags: lines(r.stdout) });
    const help = await cli(['tags', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /order the registry lists them/);
    const withTag = await cli(['tags', `${reg.host}/fx/demo:v1`]);
    assert.equal(withTag.code, 2);
  });

  test('tag prints reg/repo:tag@digest per tag, same digest as skopeo sees; numeric-looking tags stay text', async () => {
    const digest = await skopeoDigest(reg, seeded.docker);
    const r = await tarpush(['tag', `${reg.host}/${seeded.docker}`, 'stable', '1.0', '010']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), ['stable', '1.0', '010'].map((t) => `${reg.host}/fx/docker:${t}@${digest}`));
    for (const t of ['stable', '1.0', '010']) assert.equal(await skopeoDigest(reg, `fx/docker:${t}`), digest);
    const bad = await cli(['tag', `${reg.host}/${seeded.docker}`, 'ok', '-bad']);
    assert.equal(bad.code, 2);
    const invalid = await cli(['tag', `${reg.host}/${seeded.docker}`, 'ok', 'a/b']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /^tarpush: USAGE: tag a\/b: tarpush tag adds tags in the same repository .* use tarpush copy /);
    assert.equal(await skopeoFinds(reg, 'fx/docker:ok'), false);
    const none = await cli(['tag', `${reg.host}/${seeded.docker}`]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^tarpush: USAGE: missing argument \(got 1, need at least 2\): usage: tarpush tag <reference> <tag>\.\.\./);
  });

  test('delete prints the digest, removes every tag on it; deleting again exits 1; --help warns', async () => {
    await addTags(`${reg.host}/${seeded.oci}`, ['doomed', 'doomed-too'], { clientOptions: clientOptionsFor(reg, home.dir) });
    const digest = await skopeoDigest(reg, 'fx/demo:doomed');
    const r = await tarpush(['delete', `${reg.host}/fx/demo:doomed`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${digest}\n`);
    assert.equal(await skopeoFinds(reg, 'fx/demo:doomed-too'), false);
    const again = await tarpush(['delete', `${reg.host}/fx/demo@${digest}`]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^tarpush: NOT_FOUND: /);
    const noTag = await cli(['delete', `${reg.host}/fx/demo`]);
    assert.equal(noTag.code, 2);
    const help = await cli(['delete', '--help']);
    assert.match(help.stdout, /EVERY tag pointing at that manifest/);
  });

  test('catalog prints every repository across pages; --json', async () => {
    const all = ((await fetch(`${reg.url}/v2/_catalog?n=1000`).then((x) => x.json())) as { repositories: string[] }).repositories;
    const r = await tarpush(['catalog', reg.host, '--page-size', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), all);
    const json = await cli(['catalog', `http://${reg.host}/`, '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { registry: reg.host, repositories: all });
    const tooBig = await cli(['catalog', reg.host, '--page-size', '5000']);
    assert.equal(tooBig.code, 2);
  });
});

describe('remote verbs with token auth', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    await seedRegistry(reg);
  });
  after(() => reg.stop());

  const as = (u: TestUser) => ({ args: ['--username', u.username, '--password-stdin'], input: `${u.password}\n` });

  test('reader reads (digest, inspect, tags); tag and delete exit 3; no password in any output', async () => {
    const reader = as(reg.users.reader);
    const digest = await tarpush(['digest', `${reg.host}/${seeded.oci}`, ...reader.args], { input: reader.input });
    assert.equal(digest.code, 0, digest.stderr);
    assert.equal(digest.stdout, `${await skopeoDigest(reg, seeded.oci, reg.users.reader)}\n`);
    const inspect = await cli(['inspect', `${reg.host}/${seeded.oci}`, '--json', '--username', reg.users.reader.username], {
      env: { TARPUSH_PASSWORD: reg.users.reader.password },
    });
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { images: unknown[] }).images.length, 1);
    const tags = await cli(['tags', `${reg.host}/fx/demo`, ...reader.args], { input: reader.input });
    assert.deepEqual(lines(tags.stdout), await skopeoTags(reg, 'fx/demo'));
    const tag = await tarpush(['tag', `${reg.host}/${seeded.oci}`, 'nope', ...reader.args], { input: reader.input });
    assert.equal(tag.code, 3);
    assert.match(tag.stderr, /^tarpush: AUTH_DENIED: /);
    assert.equal(tag.stdout, '');
    const del = await cli(['delete', `${reg.host}/${seeded.oci}`, ...reader.args], { input: reader.input });
    assert.equal(del.code, 3);
    assert.match(del.stderr, /^tarpush: AUTH_DENIED: /);
    assert.ok(await skopeoFinds(reg, seeded.oci));
    noSecrets(reg, digest, inspect, tags, tag, del);
  });

  test('admin tags and deletes; anonymous gets exit 3', async () => {
    const admin = as(reg.users.admin);
    const tag = await tarpush(['tag', `${reg.host}/${seeded.multi}`, 'copy', ...admin.args], { input: admin.input });
    assert.equal(tag.code, 0, tag.stderr);
    const digest = await skopeoDigest(reg, seeded.multi);
    assert.equal(tag.stdout, `${reg.host}/fx/multi:copy@${digest}\n`);
    const del = await cli(['delete', `${reg.host}/fx/multi:copy`, ...admin.args], { input: admin.input });
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `${digest}\n`);
    const anonymous = await cli(['digest', `${reg.host}/${seeded.oci}`]);
    assert.equal(anonymous.code, 3);
    assert.match(anonymous.stderr, /^tarpush: AUTH_REQUIRED: /);
    noSecrets(reg, tag, del, anonymous);
  });
});

describe('remote verbs against htpasswd over TLS', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd-tls' });
    await seedRegistry(reg);
  });
  after(() => reg.stop());

  test('--ca-file trusts the registry; without it a TLS error and exit 1', async () => {
    const user = reg.users.admin;
    const env = { TARPUSH_PASSWORD: user.password };
    const ok = await tarpush(['digest', `${reg.host}/${seeded.oci}`, '--username', user.username, '--ca-file', reg.caFile!], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${await skopeoDigest(reg, seeded.oci)}\n`);
    const tls = await tarpush(['tags', `${reg.host}/fx/demo`, '--username', user.username], { env });
    assert.equal(tls.code, 1);
    assert.match(tls.stderr, /^tarpush: NETWORK_ERROR: .*--ca-file/);
    const insecure = await cli(['tags', `${reg.host}/fx/demo`, '--username', user.username, '--insecure'], { env });
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.deepEqual(lines(insecure.stdout), await skopeoTags(reg, 'fx/demo'));
    const wrong = await cli(['tags', `${reg.host}/fx/demo`, '--username', user.username, '--ca-file', reg.caFile!], { env: { TARPUSH_PASSWORD: 'wrong' } });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /^tarpush: CREDENTIALS_INVALID: /);
    noSecrets(reg, ok, tls, insecure, wrong);
  });
});
