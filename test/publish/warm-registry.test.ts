import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DigestCache } from '../../src/cache/digest-cache.js';
import { publish, type PublishResult } from '../../src/publish/publish.js';
import type { PublishEvent } from '../../src/publish/events.js';
import type { ClientOptions } from '../../src/registry/index.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { dockerSaveEntries, makeConfig, makeLayer, sha, type LayerBlob } from '../archive/support/images.js';
import { packTar } from '../archive/support/build-tar.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { expected, fixture, tempDir } from './support.js';

/**
 * A fresh machine (empty digest cache) pushing a docker save whose base layers the registry
 * has held since the last release: those layers are found, not compressed again.
 */
let reg: RegistryHandle;
let proxy: FaultProxyHandle;
let base: LayerBlob[];
let top1: LayerBlob;
let top2: LayerBlob;
before(async () => {
  reg = await startRegistry({ mode: 'anonymous' });
  proxy = await startFaultProxy({ url: reg.url });
  // Compressible and distinct: each base layer is ~200 KB of its own text.
  const text = (seed: string, n: number) => Array.from({ length: n }, (_, i) => `${seed} line ${i} ${createHash('md5').update(`${seed}${i}`).digest('hex')}\n`).join('');
  base = await Promise.all([0, 1, 2].map((i) => makeLayer({ [`usr/lib/base${i}.txt`]: text(`base${i}`, 4000) }, 'none')));
  top1 = await makeLayer({ 'app/version': 'v1\n' }, 'none');
  top2 = await makeLayer({ 'app/version': 'v2\n' }, 'none');
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const client: ClientOptions = { retries: 2, retryBaseMs: 5, maxRetryWaitMs: 50 };

async function dockerSave(dir: string, name: string, layers: LayerBlob[]): Promise<string> {
  const config = makeConfig(layers.map((l) => l.diffId));
  const file = join(dir, name);
  await writeFile(file, await packTar(dockerSaveEntries([{ tags: [`app:${name}`], layers, config }])));
  return file;
}

async function manifestOf(host: string, repo: string, ref: string): Promise<{ layers: Array<{ digest: string; size: number }>; config: { digest: string } }> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 200, `${repo}:${ref}`);
  return (await res.json()) as never;
}

const blobBytes = async (repo: string, digest: string): Promise<Buffer> => Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());

/** Every layer of the manifest at repo:ref decompresses to its config's diff_id. */
async function assertConsistent(repo: string, ref: string): Promise<void> {
  const m = await manifestOf(reg.host, repo, ref);
  const config = JSON.parse((await blobBytes(repo, m.config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
  const actual = await Promise.all(m.layers.map(async (l) => sha(gunzipSync(await blobBytes(repo, l.digest)))));
  assert.deepEqual(actual, config.rootfs.diff_ids, `${repo}:${ref}: layers and diff_ids agree`);
}

/** blob-done actions of layers, by the diff_id they were compressed from (`id` = diffId>gzip:level). */
function actionsByDiffId(events: PublishEvent[], place: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) if (e.type === 'blob-done' && e.place === place && e.id.includes('>')) out.set(e.id.slice(0, e.id.indexOf('>')), e.action);
  return out;
}

async function push(source: string, destinations: string[], extra: { cache?: DigestCache; cacheFrom?: string[]; learnTimeoutMs?: number } = {}): Promise<{ r: PublishResult; events: PublishEvent[] }> {
  const events: PublishEvent[] = [];
  const [r] = await publish({ source, destinations, cache: extra.cache ?? DigestCache.memory(), client, onEvent: (e) => events.push(e), ...extra });
  return { r: r!, events };
}

test('cold cache, v1 at the tag: pushing v2 compresses only the new layer; the others are the registry\'s v1 blobs, checked once', async (t) => {
  const dir = await tempDir(t);
  const v1 = await dockerSave(dir, 'v1', [...base, top1]);
  const v2 = await dockerSave(dir, 'v2', [...base, top2]);
  await push(v1, [`${reg.host}/warm/app:latest`]);
  const before = await manifestOf(reg.host, 'warm/app', 'latest');

  const cache = DigestCache.memory();
  const { r, events } = await push(v2, [`${reg.host}/warm/app:latest`], { cache });
  assert.deepEqual(r.compressed, { layers: 1, bytes: top2.tar.length });
  const actions = actionsByDiffId(events, `${reg.host}/warm/app`);
  assert.deepEqual(base.map((l) => actions.get(l.diffId)), ['exists', 'exists', 'exists']);
  assert.equal(actions.get(top2.diffId), 'uploaded');
  const after = await manifestOf(reg.host, 'warm/app', 'latest');
  assert.deepEqual(after.layers.slice(0, 3), before.layers.slice(0, 3), "v2's manifest names v1's base blobs");
  // The claim was checked by reading each blob once, and what was proven is remembered.
  assert.equal(events.filter((e) => e.type === 'verify').length, 3);
  for (const [i, l] of base.entries()) {
    assert.ok(cache.isVerified(before.layers[i]!.digest as never, l.diffId), `layer ${i} proven`);
    assert.deepEqual(cache.claimed(l.diffId, 'gzip').map((c) => c.digest), [before.layers[i]!.digest]);
  }
  await assertConsistent('warm/app', 'latest');

  // The next run of this user needs neither the lookup nor the check: the cache says both.
  const seen = proxy.requests.length;
  const again = await push(v2, [`${proxy.host}/warm/app:latest`], { cache });
  assert.deepEqual(again.r.compressed, { layers: 0, bytes: 0 });
  assert.equal(again.events.filter((e) => e.type === 'verify').length, 0);
  assert.deepEqual(proxy.requests.slice(seen).filter((q) => q.method === 'GET' && q.path !== '/v2/').map((q) => q.path), [], 'no image read: no GET but the ping');
});

test('--cache-from another repository of the same registry: its blobs are mounted', async (t) => {
  const dir = await tempDir(t);
  const v1 = await dockerSave(dir, 'v1', [...base, top1]);
  const v2 = await dockerSave(dir, 'v2', [...base, top2]);
  await push(v1, [`${reg.host}/warm/base:v1`]);
  const { r, events } = await push(v2, [`${reg.host}/warm/other:v2`], { cacheFrom: [`${reg.host}/warm/base:v1`] });
  const actions = actionsByDiffId(events, `${reg.host}/warm/other`);
  assert.deepEqual(base.map((l) => actions.get(l.diffId)), ['mounted', 'mounted', 'mounted']);
  assert.equal(r.compressed?.layers, 1);
  const from = await manifestOf(reg.host, 'warm/base', 'v1');
  assert.deepEqual((await manifestOf(reg.host, 'warm/other', 'v2')).layers.slice(0, 3), from.layers.slice(0, 3));
  await assertConsistent('warm/other', 'v2');
});

test('a previous tag that does not answer, or is absent, costs at most the wait: the push compresses and succeeds', async (t) => {
  const dir = await tempDir(t);
  const v2 = await dockerSave(dir, 'v2', [...base, top2]);
  await push(await dockerSave(dir, 'v1', [...base, top1]), [`${reg.host}/warm/slow:latest`]);
  proxy.setRules([{ kind: 'delay', ms: 8000, match: { method: 'GET', path: /\/warm\/slow\/manifests\/latest$/ } }]);
  try {
    const started = Date.now();
    const { r } = await push(v2, [`${proxy.host}/warm/slow:latest`], { learnTimeoutMs: 300 });
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
    assert.equal(r.compressed?.layers, 4, 'nothing learned: every layer compressed');
  } finally {
    proxy.setRules([]);
  }
  const { r } = await push(v2, [`${proxy.host}/warm/never-pushed:latest`]);
  assert.equal(r.compressed?.layers, 4);
  await assertConsistent('warm/never-pushed', 'latest');
});

test('a lying previous image (its config pairs layers with the wrong diff_ids) is caught: those layers are compressed, the image is consistent', async (t) => {
  const dir = await tempDir(t);
  await push(await dockerSave(dir, 'v1', [...base, top1]), [`${reg.host}/warm/liar:v1`]);
  // The same blobs under a config that swaps the first two base layers' diff_ids.
  const m = await manifestOf(reg.host, 'warm/liar', 'v1');
  const config = makeConfig([base[1]!.diffId, base[0]!.diffId, base[2]!.diffId, top1.diffId]);
  const post = await fetch(`${reg.url}/v2/warm/liar/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(post.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', sha(config));
  assert.equal((await fetch(loc, { method: 'PUT', body: new Uint8Array(config), headers: { 'content-type': 'application/octet-stream' } })).status, 201);
  const lying = { ...m, config: { ...m.config, digest: sha(config), size: config.length } };
  const put = await fetch(`${reg.url}/v2/warm/liar/manifests/latest`, { method: 'PUT', body: JSON.stringify(lying), headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(put.status, 201);

  const { r, events } = await push(await dockerSave(dir, 'v2', [...base, top2]), [`${reg.host}/warm/liar:latest`]);
  const actions = actionsByDiffId(events, `${reg.host}/warm/liar`);
  assert.deepEqual(base.map((l) => actions.get(l.diffId)), ['uploaded', 'uploaded', 'exists'], 'the two lied-about layers are compressed again, the third is the registry\'s');
  assert.equal(r.compressed?.layers, 3);
  const notes = events.flatMap((e) => (e.type === 'note' ? [e.message] : []));
  assert.equal(notes.filter((n) => /pairs sha256:[0-9a-f]{64} with layer sha256:[0-9a-f]{64}, but it does not hold that layer .*compressing the layer instead/.test(n)).length, 2, notes.join('\n'));
  await assertConsistent('warm/liar', 'latest');
});

test('two destinations: each plain layer is compressed once, and both get the same blobs', async (t) => {
  const dir = await tempDir(t);
  const v1 = await dockerSave(dir, 'v1', [...base, top1]);
  const { r } = await push(v1, [`${reg.host}/warm/two-a:v1`, `${proxy.host}/warm/two-b:v1`]);
  assert.deepEqual(r.compressed, { layers: 4, bytes: [...base, top1].reduce((n, l) => n + l.tar.length, 0) });
  const [a, b] = r.destinations;
  assert.equal(a!.digest, b!.digest);
  assert.deepEqual((await manifestOf(reg.host, 'warm/two-a', 'v1')).layers, (await manifestOf(reg.host, 'warm/two-b', 'v1')).layers);
  await assertConsistent('warm/two-b', 'v1');
});

test('a re-push from a cold cache reads no layer the registry holds when the config is not new; --verify reads them anyway', async () => {
  const kaniko = fixture('kaniko.tar');
  await push(kaniko, [`${reg.host}/warm/kaniko:v1`]);
  const layers = expected['kaniko.tar']!.images[0]!.diffIds.length;
  const cold = await push(kaniko, [`${reg.host}/warm/kaniko:v2`]);
  assert.equal(cold.events.filter((e) => e.type === 'verify').length, 0, 'the config was there: nothing to check');
  assert.ok(cold.r.blobs.every((b) => b.action === 'exists'));
  const events: PublishEvent[] = [];
  await publish({ source: kaniko, destinations: [`${reg.host}/warm/kaniko:v3`], cache: DigestCache.memory(), verifyExisting: true, onEvent: (e) => events.push(e) });
  assert.equal(events.filter((e) => e.type === 'verify').length, layers);
});

test('tarpush copy --cache-from (repeatable) on the command line: --json says one layer compressed, the rest mounted', async (t) => {
  const dir = await tempDir(t);
  await push(await dockerSave(dir, 'v1', [...base, top1]), [`${reg.host}/warm/cli-base:v1`]);
  const v2 = await dockerSave(dir, 'v2', [...base, top2]);
  const r = await tarpushCli(['copy', v2, `${reg.host}/warm/cli:v2`, '--json', '--no-cache', '--cache-from', `${reg.host}/warm/absent:v0`, '--cache-from', `${reg.host}/warm/cli-base:v1`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { compressed: { layers: number }; blobs: Array<{ action: string }> };
  assert.equal(out.compressed.layers, 1);
  assert.equal(out.blobs.filter((b) => b.action === 'mounted').length, 3);
  await assertConsistent('warm/cli', 'v2');
});

/** A copy of fixtures/oci-layout whose config claims `diffId` for its first layer; with that layer's descriptor. */
async function layoutClaiming(dir: string, diffId: string): Promise<{ layout: string; layer: { digest: string; size: number } }> {
  const out = join(dir, 'claiming');
  await cp(fixture('oci-layout'), out, { recursive: true });
  const blob = (d: string) => join(out, 'blobs', 'sha256', d.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8'));
  config.rootfs.diff_ids[0] = diffId;
  const rawConfig = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: sha(rawConfig), size: rawConfig.length };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  index.manifests[0] = { ...index.manifests[0], digest: sha(rawManifest), size: rawManifest.length };
  await writeFile(blob(sha(rawConfig)), rawConfig);
  await writeFile(blob(sha(rawManifest)), rawManifest);
  await writeFile(join(out, 'index.json'), JSON.stringify(index));
  return { layout: out, layer: manifest.layers[0] };
}

test('a pair this user\'s cache proved is not decompressed again while it uploads; --verify decompresses it anyway', async (t) => {
  // The cache is trusted (only this user can write it): a planted record shows whether the check ran.
  const claimed = sha('not the layer');
  const { layout, layer } = await layoutClaiming(await tempDir(t), claimed);
  const cache = DigestCache.memory();
  cache.recordVerified({ digest: layer.digest as never, size: layer.size, diffId: claimed, compression: 'gzip', level: 0 });
  await assert.rejects(
    publish({ source: layout, destinations: [`${reg.host}/warm/proven:checked`], cache, verifyExisting: true }),
    (e: unknown) => e instanceof Error && /DIFF_ID|diff_id/i.test(`${(e as { code?: string }).code} ${e.message}`),
  );
  // Through the proxy: another registry name, so the layer is uploaded (not mounted, not there).
  const [r] = await publish({ source: layout, destinations: [`${proxy.host}/warm/proven-skip:v1`], cache });
  assert.equal(r!.blobs.find((b) => b.digest === layer.digest)?.action, "uploaded");
});
