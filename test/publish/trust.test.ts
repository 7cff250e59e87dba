import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publish } from '../../src/publish/publish.js';
import type { ClientOptions } from '../../src/registry/index.js';
import { isTarpushError } from '../../src/errors.js';
import type { TagOutcome } from '../../src/publish/write-tags.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startScriptedRegistry } from '../support/scripted-registry.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { expected, fixture, registryTags, sha256hex, tempDir } from './support.js';
import { dockerSaveEntries, dockerSaveParts } from '../corpus/base-images.js';
import { tarArchive } from '../corpus/tar-bytes.js';

/** The publisher's promise: this image, to these places, under these tags — or nothing, said clearly. */
let reg: RegistryHandle;
let proxy: FaultProxyHandle;
before(async () => {
  reg = await startRegistry({ mode: 'anonymous' });
  proxy = await startFaultProxy({ url: reg.url });
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const client: ClientOptions = { retries: 2, retryBaseMs: 5, maxRetryWaitMs: 50 };

test('--all: a blob of the second image that cannot be uploaded leaves no tag of the first image either', async () => {
  const second = expected['multi-image.tar']!.images[1]!.configDigest.slice('sha256:'.length);
  proxy.setRules([{ kind: 'status', status: 500, match: { path: new RegExp(second) } }]);
  try {
    await assert.rejects(
      publish({ source: fixture('multi-image.tar'), all: true, destinations: [`${proxy.host}/trust/all`], cache: false, client }),
      (e: unknown) => isTarpushError(e) && e.exitCode === 1,
    );
  } finally {
    proxy.setRules([]);
  }
  assert.deepEqual(await registryTags(reg.url, 'trust/all'), []);
});

test('a tag that cannot be written: exit 1, and the error says which tags are live and which are not', async () => {
  proxy.setRules([{ kind: 'status', status: 502, match: { method: 'PUT', path: /\/manifests\/t2$/ } }]);
  let err: unknown;
  try {
    await publish({ source: fixture('kaniko.tar'), destinations: [`${proxy.host}/trust/tags:v1`], tags: ['t2', 't3'], cache: false, client });
  } catch (e) {
    err = e;
  } finally {
    proxy.setRules([]);
  }
  assert.ok(isTarpushError(err, 'TAGS_INCOMPLETE'), String(err));
  assert.equal(err.exitCode, 1);
  assert.match(err.message, /1 of 3 tags not written \(.*trust\/tags:t2\); live: .*:v1, .*:t3/);
  const outcomes = err.details.tags as TagOutcome[];
  assert.deepEqual(outcomes.map((o) => [o.tag, o.live]), [['v1', true], ['t2', false], ['t3', true]]);
  assert.deepEqual((await registryTags(reg.url, 'trust/tags')).sort(), ['t3', 'v1']);
});

test('each destination reports the digest it holds: a registry keeps the kaniko digest, an OCI layout holds an OCI manifest', async (t) => {
  const dir = await tempDir(t);
  const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/trust/digests:v1`, `oci:${join(dir, 'lay')}:v1`], cache: false });
  const [registry, layout] = r!.destinations;
  assert.equal(registry!.digest, expected['kaniko.tar']!.images[0]!.manifestDigest);
  assert.equal(registry!.reference, `${reg.host}/trust/digests@${registry!.digest}`);
  assert.notEqual(layout!.digest, registry!.digest);
  assert.equal(layout!.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const index = JSON.parse(await readFile(join(dir, 'lay', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.deepEqual(index.manifests.map((m) => m.digest), [layout!.digest]);
  const raw = await readFile(join(dir, 'lay', 'blobs', 'sha256', layout!.digest.slice(7)));
  assert.equal(sha256hex(raw), layout!.digest);
  assert.deepEqual(r!.references, [`${reg.host}/trust/digests:v1`, registry!.reference, `oci:${join(dir, 'lay')}:v1`, layout!.reference]);
});

test('the same repository named twice is one place: blobs go once, both tags are written', async () => {
  const [r] = await publish({ source: fixture('oci-archive.tar'), destinations: [`${reg.host}/trust/twice:a`, `${reg.host}/trust/twice:b`], cache: false });
  assert.deepEqual((await registryTags(reg.url, 'trust/twice')).sort(), ['a', 'b']);
  const uploads = r!.blobs.filter((b) => b.action === 'uploaded').map((b) => b.digest);
  assert.equal(new Set(uploads).size, uploads.length);
});

test('a tag write whose answer is lost after the registry stored it counts as written (checked with a HEAD)', async () => {
  // Every PUT of t2 reaches the registry whole, and the connection is cut before the answer.
  proxy.setRules([{ kind: 'reset-after', bytes: 1 << 30, match: { method: 'PUT', path: /\/manifests\/t2$/ } }]);
  const notes: string[] = [];
  try {
    const [r] = await publish({
      source: fixture('kaniko.tar'),
      destinations: [`${proxy.host}/trust/lost:v1`],
      tags: ['t2'],
      cache: false,
      client,
      onEvent: (e) => void (e.type === 'note' && notes.push(e.message)),
    });
    assert.deepEqual(r!.destinations[0]!.tags.map((o) => [o.tag, o.live]), [['v1', true], ['t2', true]]);
  } finally {
    proxy.setRules([]);
  }
  assert.ok(notes.some((n) => /trust\/lost:t2: the write's answer was lost, but the place holds sha256:/.test(n)), notes.join('\n'));
  assert.deepEqual((await registryTags(reg.url, 'trust/lost')).sort(), ['t2', 'v1']);
});

/** A copy of fixtures/oci-layout whose config claims another diff_id for its first layer. */
async function layoutWithWrongDiffId(dir: string): Promise<string> {
  const out = join(dir, 'wrong-diff-id');
  await cp(fixture('oci-layout'), out, { recursive: true });
  const blob = (d: string) => join(out, 'blobs', 'sha256', d.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8'));
  config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
  const rawConfig = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: sha256hex(rawConfig), size: rawConfig.length };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  index.manifests[0] = { ...index.manifests[0], digest: sha256hex(rawManifest), size: rawManifest.length };
  await writeFile(blob(sha256hex(rawConfig)), rawConfig);
  await writeFile(blob(sha256hex(rawManifest)), rawManifest);
  await writeFile(join(out, 'index.json'), JSON.stringify(index));
  return out;
}

test('a config with a wrong diff_id is refused even when the layer already exists in the registry', async (t) => {
  const dir = await tempDir(t);
  await publish({ source: fixture('oci-layout'), destinations: [`${reg.host}/trust/diffid:good`], cache: false });
  const reasons: string[] = [];
  await assert.rejects(
    publish({
      source: await layoutWithWrongDiffId(dir),
      destinations: [`${reg.host}/trust/diffid:bad`],
      cache: false,
      onEvent: (e) => void (e.type === 'verify' && reasons.push(e.reason)),
    }),
    (e: unknown) => isTarpushError(e, 'DIFF_ID_MISMATCH'),
  );
  // The re-read is said, not silent.
  assert.ok(reasons.some((r) => /trust\/diffid already holds it: checking its diff_id/.test(r)), reasons.join('\n'));
  assert.deepEqual(await registryTags(reg.url, 'trust/diffid'), ['good']);
  // --no-verify-diff-ids gives that check up, as documented.
  await mkdir(join(dir, 'again'));
  await publish({ source: await layoutWithWrongDiffId(join(dir, 'again')), destinations: [`${reg.host}/trust/diffid:unchecked`], cache: false, verifyDiffIds: false });
});

test('no destination: the RepoTags it will publish to are said before the first upload', async (t) => {
  const dir = await tempDir(t);
  const parts = dockerSaveParts();
  parts.manifest[0]!.RepoTags = [`${reg.host}/trust/own:v1`];
  const archive = join(dir, 'own.tar');
  await writeFile(archive, tarArchive(dockerSaveEntries(parts)));
  const events: string[] = [];
  await publish({
    source: archive,
    destinations: [],
    cache: false,
    onEvent: (e) => void events.push(e.type === 'note' ? `note ${e.message}` : e.type),
  });
  assert.equal(events[0], `note no destination given: publishing to the archive's RepoTags: ${reg.host}/trust/own:v1 [tags v1]`);
  assert.deepEqual(await registryTags(reg.url, 'trust/own'), ['v1']);
});

test('credentials from the environment go only to a registry named on the command line, never to one named by RepoTags', async (t) => {
  const seen: Array<string | undefined> = [];
  const evil = await startScriptedRegistry((req, res) => {
    seen.push(req.authorization);
    res.writeHead(401, { 'www-authenticate': 'Basic realm="evil"', 'content-length': '0' });
    res.end();
  });
  t.after(() => evil.stop());
  const dir = await tempDir(t);
  const parts = dockerSaveParts();
  parts.manifest[0]!.RepoTags = [`${evil.host}/steal/creds:v1`];
  const archive = join(dir, 'evil.tar');
  await writeFile(archive, tarArchive(dockerSaveEntries(parts)));
  const env = { TARPUSH_USERNAME: 'alice', TARPUSH_PASSWORD: 's3cret-pw' };
  await assert.rejects(publish({ source: archive, destinations: [], cache: false, client: { env, retries: 0 } }), (e: unknown) => isTarpushError(e) && e.exitCode === 3);
  assert.ok(seen.length > 0, 'the archive-named registry was asked');
  assert.deepEqual(seen.filter((a) => a !== undefined), [], 'and never got an Authorization header');
  // Named by the user, the same registry does get them.
  await assert.rejects(publish({ source: archive, destinations: [`${evil.host}/steal/creds:v1`], cache: false, client: { env, retries: 0 } }));
  assert.ok(seen.some((a) => a === `Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`));
});

test('every retry is a line in plain output and a count in --json; --retries and --timeout are flags', async (t) => {
  const dir = await tempDir(t);
  const args = ['push', fixture('kaniko.tar'), `${proxy.host}/trust/retry:v1`, '--no-cache'];
  proxy.setRules([{ kind: 'status', status: 503, match: { method: 'HEAD', path: /\/blobs\/sha256:/ }, times: 1 }]);
  try {
    const plain = await tarpushCli([...args, '--progress', 'plain'], { env: { TARPUSH_CACHE_DIR: join(dir, 'c') } });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^retry 1\/10 after 503: HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/trust\/retry\/blobs\/sha256:[0-9a-f]{64}$/m);
    proxy.setRules([{ kind: 'status', status: 503, match: { method: 'HEAD', path: /\/blobs\/sha256:/ }, times: 1 }]);
    const json = await tarpushCli([...args, '--json', '--retries', '3', '--timeout', '20']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).retries, 1);
    proxy.setRules([{ kind: 'status', status: 503, match: { method: 'HEAD', path: /\/blobs\/sha256:/ } }]);
    const none = await tarpushCli([...args, '--retries', '0', '--progress', 'plain']);
    assert.equal(none.code, 1);
    assert.doesNotMatch(none.stderr, /^retry /m);
  } finally {
    proxy.setRules([]);
  }
  const bad = await tarpushCli([...args, '--timeout', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--timeout must be/);
});
