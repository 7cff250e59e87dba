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

/** No character a terminal would act on: controls, DEL, C1, bidi overrides. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('messages about many or oddly named images', () => {
  it('IMAGE_AMBIGUOUS for 10,000 images lists 20 and says how many more', async () => {
    const l = await makeLayer({ z: '1' });
    const image = { layers: [l], config: makeConfig([l.diffId]) };
    const many = await openArchive(
      await writeTemp(dir, 'many.tar', await packTar(kanikoEntries(Array.from({ length: 10_000 }, (_, i) => ({ ...image, tags: [`r.example/app:v${i}`] }))))),
    );
    try {
      const err = (() => {
        try {
          selectImages(many);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      assert.ok(err);
      tarpushError('IMAGE_AMBIGUOUS', /10000 images/, /19: r\.example\/app:v19 /, /… and 9980 more/)(err);
      assert.doesNotMatch(err.message, /app:v20\b/);
      assert.ok(err.message.length < 3000, `${err.message.length} characters`);
      assert.throws(() => selectImages(many, { image: 'nope:1' }), (e: Error) => /… and 9980 more/.test(e.message) && e.message.length < 3000);
    } finally {
      await many.close();
    }
  });

  it('escapes RepoTags, entry names and manifest.json strings in messages', async () => {
    const l = await makeLayer({ e: '1' });
    const config = makeConfig([l.diffId]);
    const evil = await openArchive(
      await writeTemp(dir, 'evil.tar', await packTar(kanikoEntries([{ layers: [l], config, tags: ['evil\n\u001b[31mred:1'] }, { layers: [l], config, tags: ['x\u202eabc:1'] }]))),
    );
    try {
      assert.throws(
        () => selectImages(evil),
        (e: Error) => {
          assert.doesNotMatch(e.message, RAW_CONTROL);
          assert.match(e.message, /evil\\n\\x1b\[31mred:1/);
          assert.match(e.message, /x\\u202eabc:1/);
          return true;
        },
      );
    } finally {
      await evil.close();
    }

    // An entry name with a newline and ESC, written twice.
    const dupName = 'layer\n\u001b[2J.tar';
    await assert.rejects(openArchive(await writeTemp(dir, 'dup.tar', await packTar([{ name: dupName, data: 'a' }, { name: dupName, data: 'b' }]))), (e: Error) => {
      tarpushError('ARCHIVE_DUPLICATE_ENTRY', /layer\\n\\x1b\[2J\.tar/)(e);
      assert.doesNotMatch(e.message, RAW_CONTROL);
      return true;
    });

    // manifest.json naming a layer entry that is not there, its name carrying a bidi override.
    const manifest = JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['\u202egz.rat'] }]);
    await assert.rejects(
      openArchive(await writeTemp(dir, 'missing.tar', await packTar([{ name: 'manifest.json', data: manifest }, { name: 'c.json', data: config }]))),
      (e: Error) => {
        tarpushError('ARCHIVE_ENTRY_MISSING', /\\u202egz\.rat/)(e);
        assert.doesNotMatch(e.message, RAW_CONTROL);
        return true;
      },
    );

    // A key of a manifest.json object (LayerSources) that is not a digest, with an ESC in it.
    const badKey = JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['l.tar'], LayerSources: { '\u001b]0;owned\u0007': {} } }]);
    await assert.rejects(
      openArchive(await writeTemp(dir, 'badkey.tar', await packTar([{ name: 'manifest.json', data: badKey }, { name: 'c.json', data: config }]))),
      (e: Error) => {
        tarpushError('MANIFEST_INVALID', /(\\x1b|\\u001b)\]0;owned(\\x07|\\u0007)/)(e);
        assert.doesNotMatch(e.message, RAW_CONTROL);
        return true;
      },
    );
  });
});
