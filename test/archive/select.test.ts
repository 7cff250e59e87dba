import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openArchive, selectImages, normaliseRepoTag } from '../../src/archive/index.js';
import type { Archive } from '../../src/image/types.js';
import { packTar, tempDir, writeTemp } from './support/build-tar.js';
import { tarpushError } from './support/assert-error.js';
import { Blobs, kanikoEntries, makeConfig, makeLayer, ociImage, ociLayoutEntries } from './support/images.js';

let dir: string;
let cleanup: () => Promise<void>;
let multi: Archive;
let oci: Archive;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  const a = await makeLayer({ a: '1' });
  const b = await makeLayer({ b: '2' });
  multi = await openArchive(
    await writeTemp(
      dir,
      'multi.tar',
      await packTar(
        kanikoEntries([
          { tags: ['docker.io/library/alpine:3', 'alpine:latest'], layers: [a], config: makeConfig([a.diffId]) },
          { tags: ['ghcr.io/me/app:1'], layers: [b], config: makeConfig([b.diffId], { os: 'linux', architecture: 'arm64' }) },
        ]),
      ),
    ),
  );
  const blobs = new Blobs();
  const m1 = ociImage(blobs, [a], makeConfig([a.diffId]), { annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
  const m2 = ociImage(blobs, [b], makeConfig([b.diffId]), { annotations: { 'org.opencontainers.image.ref.name': 'v2' } });
  oci = await openArchive(await writeTemp(dir, 'oci.tar', await packTar(ociLayoutEntries(blobs, [m1, m2]))));
});
after(async () => {
  await multi.close();
  await oci.close();
  await cleanup();
});

describe('normaliseRepoTag', () => {
  it('normalises Docker Hub short names, default tags and registry aliases', () => {
    assert.equal(normaliseRepoTag('alpine:3'), 'docker.io/library/alpine:3');
    assert.equal(normaliseRepoTag('alpine'), 'docker.io/library/alpine:latest');
    assert.equal(normaliseRepoTag('library/alpine:3'), 'docker.io/library/alpine:3');
    assert.equal(normaliseRepoTag('index.docker.io/library/alpine:3'), 'docker.io/library/alpine:3');
    assert.equal(normaliseRepoTag('registry-1.docker.io/library/alpine:3'), 'docker.io/library/alpine:3');
    assert.equal(normaliseRepoTag('me/app'), 'docker.io/me/app:latest');
    assert.equal(normaliseRepoTag('localhost:5000/app:1'), 'localhost:5000/app:1');
    assert.equal(normaliseRepoTag('localhost/app'), 'localhost/app:latest');
    assert.equal(normaliseRepoTag('eu.gcr.io/example/foo'), 'eu.gcr.io/example/foo:latest');
    assert.equal(normaliseRepoTag(`example.org/path@sha256:${'a'.repeat(64)}`), `example.org/path@sha256:${'a'.repeat(64)}`);
  });
});

describe('selectImages', () => {
  it('refuses to guess among several images, listing the choices', () => {
    assert.throws(() => selectImages(multi), tarpushError('IMAGE_AMBIGUOUS', /2 images/, /0: docker\.io\/library\/alpine:3, alpine:latest/, /1: ghcr\.io\/me\/app:1/));
  });

  it('selects by exact or normalised tag, by position, by digest, or all', () => {
    assert.equal(selectImages(multi, { image: 'alpine:3' })[0]!.index, 0);
    assert.equal(selectImages(multi, { image: 'docker.io/library/alpine:latest' })[0]!.index, 0);
    assert.equal(selectImages(multi, { image: 'alpine' })[0]!.index, 0);
    assert.equal(selectImages(multi, { image: 'ghcr.io/me/app:1' })[0]!.index, 1);
    assert.equal(selectImages(multi, { image: '1' })[0]!.index, 1);
    assert.equal(selectImages(multi, { image: multi.images[1]!.root.digest })[0]!.index, 1);
    assert.equal(selectImages(multi, { all: true }).length, 2);
  });

  it('IMAGE_NOT_FOUND lists the choices', () => {
    assert.throws(() => selectImages(multi, { image: 'nginx:1' }), tarpushError('IMAGE_NOT_FOUND', /"nginx:1"/, /alpine:latest/));
    assert.throws(() => selectImages(multi, { image: '7' }), tarpushError('IMAGE_NOT_FOUND', /number 7/));
  });

  it('selects OCI images by ref name', () => {
    assert.equal(selectImages(oci, { image: 'v2' })[0]!.index, 1);
    assert.throws(() => selectImages(oci), tarpushError('IMAGE_AMBIGUOUS', /ref v1/, /ref v2/));
  });
});
