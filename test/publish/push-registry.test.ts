import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { publish } from '../../src/publish/publish.js';
import { DigestCache } from '../../src/cache/digest-cache.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { expected, fixture, registryTags, skopeoPullVerifies, skopeoView, tempDir } from './support.js';

let reg: RegistryHandle;
before(async () => {
  reg = await startRegistry({ mode: 'anonymous' });
});
after(() => reg?.stop());

const cases = [
  { file: 'kaniko.tar', repo: 'fx/kaniko' },
  { file: 'docker-archive.tar', repo: 'fx/docker-save' },
  { file: 'docker25.tar', repo: 'fx/docker25' },
  { file: 'oci-archive.tar', repo: 'fx/oci-archive' },
  { file: 'oci-layout', repo: 'fx/oci-dir' },
];

for (const c of cases) {
  test(`push ${c.file} with extra tags; skopeo reads every tag back with the archive's config and diff_ids`, async (t) => {
    const dir = await tempDir(t);
    const cache = await DigestCache.open({ dir: join(dir, 'cache') });
    const [result] = await publish({ source: fixture(c.file), destinations: [`${reg.host}/${c.repo}:v1`], tags: ['extra', 'ci-1'], cache });
    assert.ok(result);
    const want = expected[c.file]!.images[0]!;
    assert.deepEqual(
      result.references,
      [`${reg.host}/${c.repo}:v1`, `${reg.host}/${c.repo}:extra`, `${reg.host}/${c.repo}:ci-1`, `${reg.host}/${c.repo}@${result.digest}`],
    );
    if (want.manifestDigest && !c.file.startsWith('docker')) assert.equal(result.digest, want.manifestDigest, 'pushed digest equals the archive/build digest');
    for (const tag of ['v1', 'extra', 'ci-1']) {
      const seen = await skopeoView(`${reg.host}/${c.repo}:${tag}`);
      assert.equal(seen.manifestDigest, result.digest);
      assert.equal(seen.configDigest, want.configDigest);
      assert.deepEqual(seen.diffIds, want.diffIds);
    }
    await skopeoPullVerifies(`${reg.host}/${c.repo}:v1`, join(dir, 'pulled'));
    assert.ok(result.blobs.every((b) => b.action === 'uploaded'), JSON.stringify(result.blobs));
    assert.equal(result.blobs.length, want.diffIds.length + 1);
  });
}

test('a re-push of an unchanged docker save to a new tag only checks: no upload, no compression', async (t) => {
  const dir = await tempDir(t);
  const cache = await DigestCache.open({ dir: join(dir, 'cache') });
  const first = await publish({ source: fixture('docker-archive.tar'), destinations: [`${reg.host}/fx/again:one`], cache });
  const events: string[] = [];
  const second = await publish({
    source: fixture('docker-archive.tar'),
    destinations: [`${reg.host}/fx/again:two`],
    cache,
    onEvent: (e) => e.type === 'blob-progress' && events.push(e.id),
  });
  assert.equal(second[0]!.digest, first[0]!.digest, 'recompression is deterministic and cached');
  assert.ok(second[0]!.blobs.every((b) => b.action === 'exists'), JSON.stringify(second[0]!.blobs));
  assert.deepEqual(events, [], 'no bytes were sent');
  assert.deepEqual((await registryTags(reg.url, 'fx/again')).sort(), ['one', 'two']);
});

test('a layer already in another repository is mounted, not uploaded', async (t) => {
  const dir = await tempDir(t);
  const cache = await DigestCache.open({ dir: join(dir, 'cache') });
  await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/mount/src:v1`], cache });
  const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/mount/dst:v1`], cache });
  assert.ok(r!.blobs.every((b) => b.action === 'mounted'), JSON.stringify(r!.blobs));
  await skopeoPullVerifies(`${reg.host}/mount/dst:v1`, join(dir, 'pulled'));
});

test('a gzipped archive and an archive on stdin push the same image', async (t) => {
  const dir = await tempDir(t);
  const gz = join(dir, 'kaniko.tar.gz');
  await pipeline(createReadStream(fixture('kaniko.tar')), createGzip(), createWriteStream(gz));
  const [fromGz] = await publish({ source: gz, destinations: [`${reg.host}/fx/gz:v1`], cache: false });
  assert.equal(fromGz!.digest, expected['kaniko.tar']!.images[0]!.manifestDigest);
  const [fromStdin] = await publish({ source: '-', stdin: createReadStream(fixture('docker25.tar')), destinations: [`${reg.host}/fx/stdin:v1`], cache: false });
  const seen = await skopeoView(`${reg.host}/fx/stdin:v1`);
  assert.equal(seen.manifestDigest, fromStdin!.digest);
  assert.deepEqual(seen.diffIds, expected['docker25.tar']!.images[0]!.diffIds);
});

test('a multi-platform OCI layout pushes every platform and the index under the tags; --platform limits it', async (t) => {
  const [all] = await publish({ source: fixture('multi-platform'), destinations: [`${reg.host}/fx/multi:v1`], cache: false });
  const index = JSON.parse((await skopeoView(`${reg.host}/fx/multi:v1`, ['--override-arch', 'arm64', '--override-variant', 'v8'])).raw);
  assert.equal(index.manifests.length, 2);
  assert.equal(all!.digest.length, 71);
  const [one] = await publish({ source: fixture('multi-platform'), destinations: [`${reg.host}/fx/multi:amd`], platforms: ['linux/amd64'], cache: false });
  const limited = JSON.parse((await skopeoView(`${reg.host}/fx/multi:amd`)).raw);
  assert.equal(limited.manifests.length, 1);
  assert.equal(limited.manifests[0].platform.architecture, 'amd64');
  assert.notEqual(one!.digest, all!.digest);
  const dir = await tempDir(t);
  await skopeoPullVerifies(`${reg.host}/fx/multi:amd`, join(dir, 'pulled'));
});

test('a multi-image archive: --image picks one, --all pushes each under its own tag, none is ambiguous', async () => {
  await assert.rejects(
    publish({ source: fixture('multi-image.tar'), destinations: [`${reg.host}/fx/many:x`], cache: false }),
    (e: unknown) => isTarpushError(e, 'IMAGE_AMBIGUOUS'),
  );
  const [two] = await publish({ source: fixture('multi-image.tar'), image: 'example.com/demo/two:v2', destinations: [`${reg.host}/fx/pick:v2`], cache: false });
  assert.equal((await skopeoView(`${reg.host}/fx/pick:v2`)).manifestDigest, two!.digest);
  // With several images a destination tag cannot apply: a usage error before any upload.
  await assert.rejects(
    publish({ source: fixture('multi-image.tar'), all: true, destinations: [`${reg.host}/fx/all:v1`], cache: false }),
    (e: unknown) => isTarpushError(e, 'USAGE') && /--all pushes 2 images/.test(e.message),
  );
  await assert.rejects(
    publish({ source: fixture('multi-image.tar'), all: true, destinations: [`${reg.host}/fx/all`], tags: ['x'], cache: false }),
    (e: unknown) => isTarpushError(e, 'USAGE') && /cannot apply to 2 images/.test(e.message),
  );
  assert.deepEqual(await registryTags(reg.url, 'fx/all'), []);
  const results = await publish({ source: fixture('multi-image.tar'), all: true, destinations: [`${reg.host}/fx/all`], cache: false });
  assert.equal(results.length, 2);
  assert.deepEqual((await registryTags(reg.url, 'fx/all')).sort(), ['v1', 'v2']);
  assert.equal((await skopeoView(`${reg.host}/fx/all:v2`)).manifestDigest, two!.digest);
});

test('--format oci converts a kaniko tarball; skopeo sees an OCI manifest with the same config', async () => {
  const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/fx/convert:oci`], format: 'oci', cache: false });
  const seen = await skopeoView(`${reg.host}/fx/convert:oci`);
  assert.equal(JSON.parse(seen.raw).mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(seen.manifestDigest, r!.digest);
  assert.equal(seen.configDigest, expected['kaniko.tar']!.images[0]!.configDigest);
});

test('a corrupted layer fails the push with DIGEST_MISMATCH and writes no tag', async (t) => {
  const dir = await tempDir(t);
  const layout = join(dir, 'layout');
  await cp(fixture('oci-layout'), layout, { recursive: true });
  const layer = expected['oci-layout']!.images[0]!.layers![1]!.digest.slice('sha256:'.length);
  const fh = await open(join(layout, 'blobs', 'sha256', layer), 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, 40);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, 40);
  await fh.close();
  await assert.rejects(
    publish({ source: layout, destinations: [`${reg.host}/fx/corrupt:v1`], tags: ['also'], cache: false }),
    (e: unknown) => isTarpushError(e, 'DIGEST_MISMATCH') && e.message.includes(layer.slice(0, 12)),
  );
  assert.deepEqual(await registryTags(reg.url, 'fx/corrupt'), []);
});

test("a config whose diff_id does not match its gzip layer is refused unless --no-verify-diff-ids", async (t) => {
  const dir = await tempDir(t);
  const { makeMalformedCorpus } = await import('../corpus/make-malformed.js');
  const bad = (await makeMalformedCorpus(dir)).find((c) => c.name === 'diff-id-value-mismatch')!;
  await assert.rejects(
    publish({ source: bad.file, destinations: [`${reg.host}/fx/diffid:v1`], cache: false }),
    (e: unknown) => isTarpushError(e, 'DIFF_ID_MISMATCH') && /diff_id/.test(e.message),
  );
  assert.deepEqual(await registryTags(reg.url, 'fx/diffid'), []);
  // Opting out keeps the stored-digest check and publishes what the archive holds.
  const [r] = await publish({ source: bad.file, destinations: [`${reg.host}/fx/diffid:v1`], cache: false, verifyDiffIds: false });
  assert.equal((await skopeoView(`${reg.host}/fx/diffid:v1`)).manifestDigest, r!.digest);
});

test('--destination publishes the same image to several places; tags land only after all have every blob', async (t) => {
  const dir = await tempDir(t);
  const layout = join(dir, 'layout');
  const manifests: string[] = [];
  const results = await publish({
    source: fixture('docker-archive.tar'),
    destinations: [`${reg.host}/multi/one:v1`, `${reg.host}/multi/two:v1`, `oci:${layout}:v1`],
    tags: ['extra'],
    cache: false,
    onEvent: (e) => {
      if (e.type === 'manifest') manifests.push(e.place);
      // Every blob-done event must come before the first tag is written.
      if (e.type === 'blob-done') assert.equal(manifests.length, 0, 'a manifest was written before every blob was confirmed');
    },
  });
  const [r] = results;
  assert.equal(r!.references.filter((x) => x.endsWith(':v1')).length, 3);
  for (const repo of ['multi/one', 'multi/two']) assert.equal((await skopeoView(`${reg.host}/${repo}:extra`)).manifestDigest, r!.digest);
  const { run } = await import('../support/exec.js');
  const raw = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', `oci:${layout}:extra`])).stdout);
  assert.deepEqual(raw.rootfs.diff_ids, expected['docker-archive.tar']!.images[0]!.diffIds);
});

test('a destination pinned to another digest is refused before any tag is written', async () => {
  const other = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(
    publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/fx/pinned@${other}`], tags: ['t'], cache: false }),
    (e: unknown) => isTarpushError(e, 'USAGE') && e.message.includes(other),
  );
  assert.deepEqual(await registryTags(reg.url, 'fx/pinned'), []);
  const want = expected['kaniko.tar']!.images[0]!.manifestDigest!;
  const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/fx/pinned@${want}`], cache: false });
  assert.deepEqual(r!.references, [`${reg.host}/fx/pinned@${want}`]);
});
