import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import type { ImageDescription } from '../../src/image/describe.js';
import { addTags, deleteReference, describeRemote, listCatalog, listTags, resolveDigest } from '../../src/remote/index.js';
import type { ClientOptions } from '../../src/registry/index.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { skopeo, skopeoDestArgs, dockerRef } from '../support/skopeo.js';
import { fixtureByName } from '../support/fixtures.js';
import { startPagingFront } from './paginating-front.js';
import { clientOptionsFor, emptyHome, seeded, seedRegistry, skopeoConfig, skopeoDigest, skopeoFinds, skopeoRaw, skopeoTags } from './support.js';

const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

let reg: RegistryHandle;
let clientOptions: ClientOptions;
let home: { dir: string; remove(): Promise<void> };

before(async () => {
  home = await emptyHome();
  reg = await startRegistry({ mode: 'anonymous' });
  clientOptions = clientOptionsFor(reg, home.dir);
  await seedRegistry(reg);
});
after(async () => {
  await reg.stop();
  await home.remove();
});

/** What skopeo says about one single-platform image, in the shape describeRemote answers. */
async function skopeoDescription(ref: string, platform?: { arch: string; variant?: string }, manifestRaw?: string) {
  const raw = manifestRaw ?? (await skopeoRaw(reg, ref));
  const manifest = JSON.parse(raw) as { mediaType?: string; config: { digest: string; size: number }; layers: { digest: string; size: number; mediaType: string }[] };
  const config = await skopeoConfig(reg, ref, platform);
  const parsed = JSON.parse(config) as { os: string; architecture: string; variant?: string; rootfs: { diff_ids: string[] } };
  return {
    digest: sha256(raw),
    // umoci writes OCI manifests without the (optional) mediaType field.
    mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    platform: { os: parsed.os, architecture: parsed.architecture, ...(parsed.variant ? { variant: parsed.variant } : {}) },
    config: { digest: sha256(config), size: Buffer.byteLength(config) },
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: parsed.rootfs.diff_ids[i] })),
  };
}

const withoutCompression = (d: ImageDescription) => ({
  digest: d.digest,
  mediaType: d.mediaType,
  platform: d.platform,
  config: d.config,
  layers: d.layers.map(({ digest, size, mediaType, diffId }) => ({ digest, size, mediaType, diffId })),
});

test('digest equals skopeo for an OCI manifest, a Docker manifest and an index (the index digest)', async () => {
  for (const ref of [seeded.oci, seeded.docker, seeded.multi]) {
    assert.equal(await resolveDigest(`${reg.host}/${ref}`, { clientOptions }), await skopeoDigest(reg, ref), ref);
  }
});

test('digest of a digest reference is itself; --platform picks the platform manifest of an index', async () => {
  const indexDigest = await skopeoDigest(reg, seeded.multi);
  assert.equal(await resolveDigest(`${reg.host}/fx/multi@${indexDigest}`, { clientOptions }), indexDigest);
  const index = JSON.parse(await skopeoRaw(reg, seeded.multi)) as { manifests: { digest: string; platform: { architecture: string; variant?: string } }[] };
  const arm = index.manifests.find((m) => m.platform.architecture === 'arm64')!;
  const amd = index.manifests.find((m) => m.platform.architecture === 'amd64')!;
  assert.equal(await resolveDigest(`${reg.host}/${seeded.multi}`, { clientOptions, platform: 'linux/arm64/v8' }), arm.digest);
  assert.equal(await resolveDigest(`${reg.host}/${seeded.multi}`, { clientOptions, platform: 'linux/arm64' }), arm.digest);
  assert.equal(await resolveDigest(`${reg.host}/${seeded.multi}`, { clientOptions, platform: 'linux/x86_64' }), amd.digest);
  // A single-platform image answers its own digest for its platform and refuses others.
  const single = await skopeoDigest(reg, seeded.oci);
  assert.equal(await resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions, platform: 'linux/amd64' }), single);
  await assert.rejects(resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions, platform: 'linux/arm64' }), (e) => isTarpushError(e, 'IMAGE_NOT_FOUND'));
  await assert.rejects(resolveDigest(`${reg.host}/${seeded.multi}`, { clientOptions, platform: 'windows/amd64' }), (e) => {
    assert.ok(isTarpushError(e, 'IMAGE_NOT_FOUND'));
    assert.match(e.message, /linux\/amd64, linux\/arm64\/v8/);
    return true;
  });
});

test('digest of a missing tag or repository is NOT_FOUND (exit 1)', async () => {
  for (const ref of ['fx/demo:nope', 'fx/nothing:v1']) {
    await assert.rejects(resolveDigest(`${reg.host}/${ref}`, { clientOptions }), (e) => isTarpushError(e, 'NOT_FOUND') && e.exitCode === 1);
  }
});

test('inspect of single images matches skopeo: manifest, platform, config, layers, diff_ids', async () => {
  for (const ref of [seeded.oci, seeded.docker]) {
    const images = await describeRemote(`${reg.host}/${ref}`, { clientOptions });
    assert.equal(images.length, 1);
    const d = images[0]!;
    assert.deepEqual(d.repoTags, [`${reg.host}/${ref}`]);
    assert.equal(d.index, undefined);
    assert.deepEqual(withoutCompression(d), await skopeoDescription(ref));
    for (const l of d.layers) assert.equal(l.compression, 'gzip');
  }
});

test('inspect of an index: one entry per platform, each matching skopeo for that platform; --platform keeps one', async () => {
  const indexRaw = await skopeoRaw(reg, seeded.multi);
  const index = JSON.parse(indexRaw) as { mediaType: string; manifests: { digest: string; platform: { architecture: string; variant?: string } }[] };
  const images = await describeRemote(`${reg.host}/${seeded.multi}`, { clientOptions });
  assert.deepEqual(
    images.map((d) => d.platform),
    [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
  );
  for (const [i, d] of images.entries()) {
    const entry = index.manifests[i]!;
    assert.equal(d.digest, entry.digest);
    assert.deepEqual(d.index, { digest: sha256(indexRaw), mediaType: index.mediaType });
    const raw = await skopeoRaw(reg, `fx/multi@${entry.digest}`);
    const platform = { arch: entry.platform.architecture, ...(entry.platform.variant ? { variant: entry.platform.variant } : {}) };
    assert.deepEqual(withoutCompression(d), await skopeoDescription(seeded.multi, platform, raw));
  }
  const arm = await describeRemote(`${reg.host}/${seeded.multi}`, { clientOptions, platform: 'linux/arm64' });
  assert.equal(arm.length, 1);
  assert.deepEqual(arm[0], images[1]);
});

test('tags follow the registry order, as skopeo list-tags reports them', async () => {
  const tagged = await addTags(`${reg.host}/${seeded.oci}`, ['zeta', 'alpha', '1.0', 'mid'], { clientOptions });
  assert.equal(tagged.failed.length, 0);
  const list = await listTags(`${reg.host}/fx/demo`, { clientOptions });
  assert.equal(list.name, `${reg.host}/fx/demo`);
  assert.deepEqual(list.tags, await skopeoTags(reg, 'fx/demo'));
  assert.deepEqual([...list.tags].sort(), ['1.0', 'alpha', 'mid', 'v1', 'zeta']);
  await assert.rejects(listTags(`${reg.host}/fx/none`, { clientOptions }), (e) => isTarpushError(e, 'NOT_FOUND'));
  await assert.rejects(listTags(`${reg.host}/fx/demo:v1`, { clientOptions }), (e) => isTarpushError(e, 'REFERENCE_INVALID'));
});

test('tag writes the same bytes under each new tag: digest unchanged, index media type kept', async () => {
  const before = await skopeoDigest(reg, seeded.multi);
  const result = await addTags(`${reg.host}/${seeded.multi}`, ['t1', 't2', 't1'], { clientOptions });
  assert.equal(result.digest, before);
  assert.equal(result.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(
    result.tagged.map((t) => t.reference),
    [`${reg.host}/fx/multi:t1@${before}`, `${reg.host}/fx/multi:t2@${before}`],
  );
  for (const tag of ['t1', 't2']) {
    assert.equal(await skopeoDigest(reg, `fx/multi:${tag}`), before);
    assert.equal(sha256(await skopeoRaw(reg, `fx/multi:${tag}`)), before);
  }
  const docker = await addTags(`${reg.host}/${seeded.docker}`, ['copy'], { clientOptions });
  assert.equal(docker.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(await skopeoDigest(reg, 'fx/docker:copy'), await skopeoDigest(reg, seeded.docker));
  await assert.rejects(addTags(`${reg.host}/${seeded.oci}`, ['ok', 'bad:tag'], { clientOptions }), (e) => isTarpushError(e, 'REFERENCE_INVALID'));
  await assert.rejects(addTags(`${reg.host}/fx/demo:missing`, ['x'], { clientOptions }), (e) => isTarpushError(e, 'NOT_FOUND'));
});

test('delete resolves the tag, deletes by digest (every tag on it goes), and an emptied repository lists no tags', async () => {
  const dest = skopeoDestArgs(reg);
  await skopeo(['copy', '--quiet', ...dest, `oci:${fixtureByName('oci-layout').path}:demo`, dockerRef(reg, 'fx/gone:a')]);
  await addTags(`${reg.host}/fx/gone:a`, ['b'], { clientOptions });
  const digest = await skopeoDigest(reg, 'fx/gone:a');
  const result = await deleteReference(`${reg.host}/fx/gone:a`, { clientOptions });
  assert.deepEqual(result, { reference: `${reg.host}/fx/gone@${digest}`, digest });
  assert.equal(await skopeoFinds(reg, 'fx/gone:a'), false);
  assert.equal(await skopeoFinds(reg, 'fx/gone:b'), false);
  assert.deepEqual((await listTags(`${reg.host}/fx/gone`, { clientOptions })).tags, []);
  assert.deepEqual(await skopeoTags(reg, 'fx/gone'), []);
  await assert.rejects(deleteReference(`${reg.host}/fx/gone:a`, { clientOptions }), (e) => isTarpushError(e, 'NOT_FOUND'));
  await assert.rejects(deleteReference(`${reg.host}/fx/gone@${digest}`, { clientOptions }), (e) => isTarpushError(e, 'NOT_FOUND'));
  await assert.rejects(deleteReference(`${reg.host}/fx/gone`, { clientOptions }), (e) => isTarpushError(e, 'USAGE'));
});

test('catalog follows distribution pagination (relative Link) and lists every repository', async () => {
  const everything = await fetch(`${reg.url}/v2/_catalog?n=1000`).then((r) => r.json() as Promise<{ repositories: string[] }>);
  assert.ok(everything.repositories.includes('fx/demo'));
  for (const pageSize of [undefined, 1, 2]) {
    const catalog = await listCatalog(reg.host, { clientOptions, ...(pageSize ? { pageSize } : {}) });
    assert.deepEqual(catalog, { registry: reg.host, repositories: everything.repositories }, `page size ${pageSize}`);
  }
});

test('tags follow Link pagination, relative and absolute, keeping the registry order', async () => {
  const direct = (await listTags(`${reg.host}/fx/demo`, { clientOptions })).tags;
  assert.ok(direct.length >= 5);
  for (const absoluteLinks of [false, true]) {
    const front = await startPagingFront(reg.url, { pageSize: 2, absoluteLinks });
    try {
      const paged = await listTags(`${front.host}/fx/demo`, { clientOptions });
      assert.equal(paged.name, `${front.host}/fx/demo`);
      assert.deepEqual(paged.tags, direct);
      assert.equal(front.pages.length, Math.ceil(direct.length / 2));
      const asked = await listTags(`${front.host}/fx/demo`, { clientOptions, pageSize: 4 });
      assert.deepEqual(asked.tags, direct);
      assert.equal(front.pages.at(-1)?.includes('n=4'), true);
    } finally {
      await front.stop();
    }
  }
});
