import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publish } from '../../src/publish/publish.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startRandomFaultProxy, type RandomFaultProxy } from '../support/random-fault-proxy.js';
import { run } from '../support/exec.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { kanikoEntries, kanikoParts } from '../corpus/base-images.js';
import { tarArchive } from '../corpus/tar-bytes.js';
import { expected, fixture, registryTags, sha256hex, skopeoView, tempDir } from '../publish/support.js';

/** copy, save and index: every place a source and a sink, through one pipeline. */
let reg: RegistryHandle;
let tokenReg: RegistryHandle;
let faulty: RandomFaultProxy;
before(async () => {
  [reg, tokenReg] = await Promise.all([startRegistry({ mode: 'anonymous' }), startRegistry({ mode: 'token' })]);
  const [host, port] = tokenReg.host.split(':');
  faulty = await startRandomFaultProxy({ host: host!, port: Number(port) }, { seed: 5, rate: 0.2 });
});
after(async () => {
  await faulty?.stop();
  await Promise.all([reg?.stop(), tokenReg?.stop()]);
});

const env = (dir: string) => ({ TARPUSH_CACHE_DIR: join(dir, 'cache') });

test('copy registry → registry keeps the digest; a second repository of the same registry is mounted', async (t) => {
  const dir = await tempDir(t);
  const [pushed] = await publish({ source: fixture('multi-platform.tar'), destinations: [`${reg.host}/places/src:v1`], cache: false });
  const r = await tarpushCli(['copy', `${reg.host}/places/src:v1`, `${reg.host}/places/dst:v1`, '--json'], { env: env(dir) });
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.digest, pushed!.digest, 'byte-identical index');
  assert.ok(json.blobs.every((b: { action: string }) => b.action !== 'uploaded'), 'blobs mounted, not sent');
  assert.equal((await skopeoView(`${reg.host}/places/dst:v1`)).manifestDigest, pushed!.digest);
  await run('skopeo', ['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/places/dst:v1`, `dir:${join(dir, 'check')}`]);
});

test('copy between two registries, one token-auth behind a 1-in-5 fault proxy: completes, digests kept', async (t) => {
  const dir = await tempDir(t);
  const [pushed] = await publish({ source: fixture('oci-archive.tar'), destinations: [`${reg.host}/places/wan:v1`], cache: false });
  const { username, password } = tokenReg.users.admin;
  const [copied] = await publish({
    source: `docker://${reg.host}/places/wan:v1`,
    anySource: true,
    destinations: [`${faulty.host}/places/wan:v1`],
    tags: ['t2'],
    cache: false,
    client: { username, password, retryBaseMs: 5, maxRetryWaitMs: 50, timeoutMs: 3000 },
  });
  assert.equal(copied!.digest, pushed!.digest);
  assert.ok(faulty.stats.requests > 0);
  const seen = await skopeoView(`${tokenReg.host}/places/wan:t2`, ['--creds', `${username}:${password}`]);
  assert.equal(seen.manifestDigest, pushed!.digest);
  void dir;
});

test('save: a registry image to docker-archive (podman/skopeo read it) and to oci-archive; pushing the saves back keeps the digests', async (t) => {
  const dir = await tempDir(t);
  const [pushed] = await publish({ source: fixture('oci-archive.tar'), destinations: [`${reg.host}/places/save:v1`], cache: false });
  const docker = join(dir, 'img.tar');
  const oci = join(dir, 'img-oci.tar');
  const d = await tarpushCli(['save', `${reg.host}/places/save:v1`, docker], { env: env(dir) });
  assert.equal(d.code, 0, d.stderr);
  const o = await tarpushCli(['save', `${reg.host}/places/save:v1`, oci, '--format', 'oci'], { env: env(dir) });
  assert.equal(o.code, 0, o.stderr);
  const want = expected['oci-archive.tar']!.images[0]!;
  for (const ref of [`docker-archive:${docker}`, `oci-archive:${oci}:v1`]) {
    const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', ref])).stdout);
    assert.deepEqual(cfg.rootfs.diff_ids, want.diffIds, ref);
  }
  for (const [file, repo] of [[docker, 'back-docker'], [oci, 'back-oci']] as const) {
    const [again] = await publish({ source: file, destinations: [`${reg.host}/places/${repo}:v1`], cache: false });
    assert.equal(again!.digest, pushed!.digest, `${repo}: same manifest digest after the round trip`);
  }
});

test('save of a multi-platform index into a docker archive takes one platform (the host\'s, said) or --platform', async (t) => {
  const dir = await tempDir(t);
  await publish({ source: fixture('multi-platform.tar'), destinations: [`${reg.host}/places/multi:v1`], cache: false });
  const out = join(dir, 'arm.tar');
  const r = await tarpushCli(['save', `${reg.host}/places/multi:v1`, out, '--platform', 'linux/arm64'], { env: env(dir) });
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${out}`])).stdout);
  assert.equal(cfg.architecture, 'arm64');
  const host = await tarpushCli(['save', `${reg.host}/places/multi:v1`, join(dir, 'host.tar'), '--progress', 'plain'], { env: env(dir) });
  assert.equal(host.code, 0, host.stderr);
  assert.match(host.stderr, /holds one platform per image; writing the host's, linux\/amd64/);
});

/** A kaniko tarball of an arm64 image (the generator's parts, config edited). */
async function arm64Kaniko(dir: string): Promise<string> {
  const parts = kanikoParts();
  const config = JSON.parse(parts.configBytes.toString());
  config.architecture = 'arm64';
  config.variant = 'v8';
  parts.configBytes = Buffer.from(JSON.stringify(config));
  parts.configName = sha256hex(parts.configBytes);
  parts.manifest[0]!.Config = parts.configName;
  const file = join(dir, 'arm64.tar');
  await writeFile(file, tarArchive(kanikoEntries(parts)));
  return file;
}

test('index create from an amd64 and an arm64 kaniko tarball: skopeo sees both platforms and picks the right child', async (t) => {
  const dir = await tempDir(t);
  const arm = await arm64Kaniko(dir);
  const r = await tarpushCli(['index', 'create', `${reg.host}/places/idx:1.2`, fixture('kaniko.tar'), arm, '-t', 'latest', '--json'], { env: env(dir) });
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/places/idx:latest`])).stdout);
  assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture), ['amd64', 'arm64']);
  assert.equal(sha256hex(Buffer.from((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/places/idx:1.2`])).stdout)), json.digest);
  // kaniko's tarball keeps its digest as a child.
  assert.equal(raw.manifests[0].digest, expected['kaniko.tar']!.images[0]!.manifestDigest);
  const arm64 = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', '--override-arch', 'arm64', `docker://${reg.host}/places/idx:1.2`])).stdout);
  assert.equal(arm64.architecture, 'arm64');
  await run('skopeo', ['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/places/idx:1.2`, `dir:${join(dir, 'all')}`]);
});

test('index create refuses two images of one platform; index append adds a platform to an existing index', async (t) => {
  const dir = await tempDir(t);
  const dup = await tarpushCli(['index', 'create', `${reg.host}/places/dup:1`, fixture('kaniko.tar'), fixture('kaniko.tar'), fixture('oci-archive.tar')], { env: env(dir) });
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /two images for linux\/amd64/);
  assert.deepEqual(await registryTags(reg.url, 'places/dup'), []);
  const first = await tarpushCli(['index', 'create', `${reg.host}/places/app:1`, fixture('kaniko.tar')], { env: env(dir) });
  assert.equal(first.code, 0, first.stderr);
  const appended = await tarpushCli(['index', 'append', `${reg.host}/places/app:1`, await arm64Kaniko(dir)], { env: env(dir) });
  assert.equal(appended.code, 0, appended.stderr);
  const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/places/app:1`])).stdout);
  assert.deepEqual(raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture), ['amd64', 'arm64']);
});

test('a place that cannot be written is a usage error before anything is read', async () => {
  await assert.rejects(
    publish({ source: fixture('kaniko.tar'), destinations: ['docker-archive:/tmp/x.tar:reg.example/app@sha256:' + 'a'.repeat(64)], cache: false }),
    (e: unknown) => isTarpushError(e, 'USAGE') && /by repo:tag, not by digest/.test(e.message),
  );
});
