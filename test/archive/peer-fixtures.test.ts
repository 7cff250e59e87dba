/**
 * Issue 8's archives, read from the committed fixtures real tools wrote (or that follow the
 * writers' source, fixtures/README.md), checked against fixtures/expected.json (computed from
 * the bytes by facts.sh): each kind that used to be refused, and what is still refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { openArchive } from '../../src/archive/open.js';
import { tarFiles } from '../../src/archive/files.js';
import { indexTar } from '../../src/archive/tar-index.js';
import { imagesFromManifestJson, readManifestJson } from '../../src/archive/formats/manifest-json.js';
import { spool } from '../../src/archive/spool.js';
import { bufferSource } from '../../src/image/sources.js';
import { verifyImage } from '../../src/image/verify.js';
import type { Archive, Artifact, Image, ImageIndex } from '../../src/image/types.js';
import { fixturesDir, expectedFacts } from '../support/fixtures.js';
import { packTar, tempDir, writeTemp } from './support/build-tar.js';
import { tarpushError } from './support/assert-error.js';
import { kanikoEntries, makeConfig, makeLayer } from './support/images.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const facts = (name: string): any => expectedFacts(name);
const at = (name: string): string => `${fixturesDir}/${name}`;

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

async function withArchive<T>(path: string, fn: (a: Archive, notes: string[]) => Promise<T> | T, stdin?: Readable): Promise<T> {
  const notes: string[] = [];
  const a = await openArchive(path, { onNote: (m) => notes.push(m), ...(stdin ? { stdin } : {}) });
  try {
    return await fn(a, notes);
  } finally {
    await a.close();
  }
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env: {} });
  return { code, out, err };
}

const diffIds = (im: Image): string[] => im.layers.map((l) => l.diffId);

describe('Docker 25 untagged save (index.json "manifests": null)', () => {
  it('is read from manifest.json: the one image, untagged, config and diff_ids as saved', async () => {
    const want = facts('docker25-untagged.tar').manifestJson[0];
    await withArchive(at('docker25-untagged.tar'), (a) => {
      assert.equal(a.format, 'docker-save-oci');
      assert.equal(a.images.length, 1);
      const im = a.images[0]!.root as Image;
      assert.deepEqual(a.images[0]!.repoTags, []);
      assert.equal(im.config.digest, want.configDigest);
      assert.deepEqual(diffIds(im), want.diffIds);
      // LayerSources lists these uncompressed layers (Docker 25); per ggcr#1870 that entry is ignored.
      assert.deepEqual(im.layers.map((l) => [l.digest, l.mediaType]), want.layers.map((l: { digest: string }) => [l.digest, 'application/vnd.docker.image.rootfs.diff.tar']));
    });
  });
});

describe('Docker 29 partial multi-platform save', () => {
  it('keeps the whole index; the entries it does not hold are not carried, attestations included', async () => {
    const e = facts('docker29-partial.tar');
    await withArchive(at('docker29-partial.tar'), (a) => {
      const root = a.images[0]!.root as ImageIndex;
      assert.equal(root.kind, 'index');
      assert.equal(root.digest, e.indexDigest);
      assert.deepEqual(
        root.manifests.map((c) => [c.descriptor.digest, c.item !== undefined]),
        e.children.map((c: { digest: string; carried: boolean }) => [c.digest, c.carried]),
      );
      const amd = root.manifests[0]!.item as Image;
      assert.equal(amd.config.digest, e.platforms[0].configDigest);
      assert.deepEqual(diffIds(amd), e.platforms[0].diffIds);
      assert.deepEqual(amd.layers.map((l) => l.compression), ['gzip', 'gzip']);
    });
  });

  it('its manifest.json lists gzip layers under blobs/sha256/<d>: compression comes from the bytes', async () => {
    const files = tarFiles(await indexTar(at('docker29-partial.tar')));
    try {
      const [entry] = await imagesFromManifestJson(files, await readManifestJson(files));
      const im = entry!.root as Image;
      const want = facts('docker29-partial.tar').platforms[0];
      assert.deepEqual(im.layers.map((l) => [l.digest, l.compression, l.mediaType]), want.layers.map((l: { digest: string }) => [l.digest, 'gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']));
      assert.deepEqual(diffIds(im), want.diffIds);
    } finally {
      await files.close();
    }
  });

  it('inspect lists carried and not-carried entries (human and --json)', async () => {
    const j = await cli(['inspect', at('docker29-partial.tar'), '--json']);
    assert.equal(j.code, 0);
    const images = JSON.parse(j.out).images as { carried?: boolean; attestation?: boolean; platform?: { architecture: string } }[];
    assert.deepEqual(images.map((i) => [i.platform?.architecture, i.carried ?? true, i.attestation ?? false]), [
      ['amd64', true, false],
      ['arm64', false, false],
      ['unknown', false, true],
      ['unknown', false, true],
    ]);
    const h = await cli(['inspect', at('docker29-partial.tar')]);
    assert.equal((h.out.match(/not carried: the index lists it, the archive does not hold it/g) ?? []).length, 3);
    const v = await cli(['inspect', at('docker29-partial.tar'), '--verify', '--json']);
    assert.equal(v.code, 0, v.err);
  });
});

describe('artifacts', () => {
  it('oci-artifacts/: the image, and the SBOM and signature that refer to it (digest, artifactType, subject, blobs)', async () => {
    const e = facts('oci-artifacts');
    await withArchive(at('oci-artifacts'), (a) => {
      assert.equal((a.images[0]!.root as Image).config.digest, e.images[0].configDigest);
      const arts = a.images.slice(1).map((i) => i.root as Artifact);
      assert.deepEqual(
        arts.map((x) => [x.kind, x.digest, x.artifactType, x.subject?.digest, x.config.mediaType, x.blobs.map((b) => [b.digest, b.mediaType, b.size])]),
        e.artifacts.map((x: { manifestDigest: string; artifactType: string; subject: string; configMediaType: string; layers: { digest: string; mediaType: string; size: number }[] }) => [
          'artifact',
          x.manifestDigest,
          x.artifactType,
          x.subject,
          x.configMediaType,
          x.layers.map((l) => [l.digest, l.mediaType, l.size]),
        ]),
      );
    });
    const j = JSON.parse((await cli(['inspect', at('oci-artifacts'), '--json', '--verify'])).out);
    assert.deepEqual(j.artifacts.map((x: { artifactType: string; verified: boolean }) => [x.artifactType, x.verified]), [
      ['application/spdx+json', true],
      ['application/vnd.dev.sigstore.bundle.v0.3+json', true],
    ]);
  });

  it('a layout of artifacts only is valid: nothing is an image, every blob kept as it is', async () => {
    const e = facts('oci-artifacts-only');
    await withArchive(at('oci-artifacts-only'), (a) => {
      assert.deepEqual(a.images.map((i) => [i.refName, i.root.kind]), [['sbom', 'artifact'], ['notes', 'artifact']]);
      assert.deepEqual(
        a.images.map((i) => (i.root as Artifact).blobs.map((b) => b.mediaType)),
        e.artifacts.map((x: { layers: { mediaType: string }[] }) => x.layers.map((l) => l.mediaType)),
      );
    });
    const h = await cli(['inspect', at('oci-artifacts-only')]);
    assert.equal(h.code, 0);
    assert.match(h.out, /^artifact 0: \(untagged\) \[ref sbom\]$/m);
    assert.match(h.out, /application\/example\.sbom\.breakfast/);
  });

  it('a BuildKit attestation manifest is an artifact attesting its image; verifying checks its blobs by digest', async () => {
    const e = facts('buildx-oci-attest.tar');
    await withArchive(at('buildx-oci-attest.tar'), async (a) => {
      const root = a.images[0]!.root as ImageIndex;
      const [img, att] = root.manifests.map((c) => c.item!);
      assert.equal(img!.kind, 'image');
      assert.equal((img as Image).config.digest, e.platforms[0].configDigest);
      assert.equal(att!.kind, 'artifact');
      assert.deepEqual((att as Artifact).blobs.map((b) => b.mediaType), ['application/vnd.in-toto+json', 'application/vnd.in-toto+json']);
    });
    const j = JSON.parse((await cli(['inspect', at('buildx-oci-attest.tar'), '--json'])).out);
    assert.equal(j.artifacts[0].attests, e.platforms[0].manifestDigest);
    // Blobs are checked by digest and size when verified (no tar or diff_id rule: in-toto JSON passes).
    await withArchive(at('buildx-oci-attest.tar'), async (a) => {
      const att = (a.images[0]!.root as ImageIndex).manifests[1]!.item as Artifact;
      await verifyImage(att);
      const b = att.blobs[0]!;
      const other = Buffer.alloc(b.size, 0x20);
      await assert.rejects(verifyImage({ ...att, blobs: [{ ...b, source: bufferSource(other, 'changed') }] }), tarpushError('DIGEST_MISMATCH'));
    });
  });
});

describe('foreign layers', () => {
  it('a present foreign layer keeps its media type and urls; a sparse one is absent, not an error, and cannot be opened', async () => {
    const full = facts('windows-foreign.tar').images[0].layers[0];
    await withArchive(at('windows-foreign.tar'), (a) => {
      const l = (a.images[0]!.root as Image).layers[0]!;
      assert.deepEqual([l.foreign, l.absent, l.mediaType, l.urls], [true, undefined, full.mediaType, full.urls]);
    });
    await withArchive(at('windows-foreign-sparse.tar'), async (a) => {
      const [l, ordinary] = (a.images[0]!.root as Image).layers;
      assert.deepEqual([l!.foreign, l!.absent, l!.digest, l!.urls], [true, true, full.digest, full.urls]);
      assert.equal(ordinary!.foreign, undefined);
      await assert.rejects(async () => {
        for await (const _ of l!.source.open());
      }, tarpushError('ARCHIVE_ENTRY_MISSING', /not in the archive/));
    });
  });

  it('an absent layer that is not foreign (or has no urls) is still ARCHIVE_ENTRY_MISSING', async () => {
    const l1 = await makeLayer({ a: '1' });
    const foreignNoUrls = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', size: l1.stored.length, digest: l1.digest };
    const entries = kanikoEntries([{ tags: ['w:1'], layers: [l1], config: makeConfig([l1.diffId]), layerSources: { [l1.diffId]: foreignNoUrls } }]).filter((e) => !e.name.endsWith('.tar.gz'));
    await assert.rejects(openArchive(await writeTemp(dir, 'no-urls.tar', await packTar(entries))), tarpushError('ARCHIVE_ENTRY_MISSING'));
  });
});

describe('refusals peers do not make', () => {
  it('a docker-save config named <id>.json that is not its digest: read by its content, noted by inspect --verify', async () => {
    const want = facts('config-not-digest.tar').images[0];
    const r = await cli(['inspect', at('config-not-digest.tar'), '--verify', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).images[0].config.digest, want.configDigest);
    assert.match(r.err, new RegExp(`${want.configEntry.replace('.', '\\.')}: the config is not named by its digest; its digest is its content's, ${want.configDigest}`));
  });

  it('an index descriptor whose media type disagrees with the manifest: one note, the manifest keeps its own type', async () => {
    const want = facts('mediatype-disagrees').images[0];
    await withArchive(at('mediatype-disagrees'), (a, notes) => {
      assert.equal(a.images[0]!.root.mediaType, want.manifestMediaType);
      assert.equal(a.images[0]!.root.digest, want.manifestDigest);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /descriptor says media type "application\/vnd\.docker\.distribution\.manifest\.v2\+json", the manifest says "application\/vnd\.oci\.image\.manifest\.v1\+json"/);
    });
  });
});

describe('./-prefixed entry names', () => {
  it('dot-slash.tar (tar -C dir .) reads as the layout it was made from', async () => {
    const plain = await withArchive(at('oci-layout'), (a) => a.images[0]!.root.digest);
    assert.equal(await withArchive(at('dot-slash.tar'), (a) => a.images[0]!.root.digest), plain);
  });

  it('a kaniko tar whose entries and manifest.json names start with ./ is still a kaniko tar, with the same image', async () => {
    const l1 = await makeLayer({ a: '1' });
    const entries = kanikoEntries([{ tags: ['k:1'], layers: [l1], config: makeConfig([l1.diffId]) }]);
    const dotted = entries.map((e) => {
      if (e.name !== 'manifest.json') return { ...e, name: `./${e.name}` };
      const m = JSON.parse(String(e.data)) as { Config: string; Layers: string[] }[];
      return { ...e, data: JSON.stringify(m.map((x) => ({ ...x, Config: `./${x.Config}`, Layers: x.Layers.map((n) => `./${n}`) }))) };
    });
    const plain = await withArchive(await writeTemp(dir, 'plain.tar', await packTar(entries)), (a) => a.images[0]!.root.digest);
    await withArchive(await writeTemp(dir, 'dotted.tar', await packTar(dotted)), (a) => {
      assert.equal(a.format, 'kaniko');
      assert.equal(a.images[0]!.root.digest, plain);
    });
  });
});

describe('archives compressed with xz, zstd, bzip2', () => {
  const plainFacts = facts('docker-archive.tar').images[0];
  for (const [ext, kind] of [['xz', 'xz'], ['zst', 'zstd'], ['bz2', 'bzip2']] as const) {
    it(`docker-archive.tar.${ext}: detected by magic, read as the plain archive (file and stdin)`, async () => {
      const check = (a: Archive): void => {
        assert.equal(a.compression, kind);
        const im = a.images[0]!.root as Image;
        assert.equal(im.config.digest, plainFacts.configDigest);
        assert.deepEqual(diffIds(im), plainFacts.diffIds);
      };
      await withArchive(at(`docker-archive.tar.${ext}`), check);
      await withArchive('-', check, Readable.from([readFileSync(at(`docker-archive.tar.${ext}`))]));
      const cut = readFileSync(at(`docker-archive.tar.${ext}`)).subarray(0, 900);
      await assert.rejects(openArchive(await writeTemp(dir, `cut.${ext}`, cut)), tarpushError(kind === 'bzip2' ? 'ARCHIVE_NOT_TAR' : 'ARCHIVE_TRUNCATED', new RegExp(kind)));
    });
  }

  it('garbage after a magic is ARCHIVE_NOT_TAR naming the compression; the ratio bound applies to every kind', async () => {
    await assert.rejects(openArchive(await writeTemp(dir, 'junk.xz', Buffer.from('\xfd7zXZ\x00not really xz at all', 'latin1'))), tarpushError('ARCHIVE_NOT_TAR', /not valid xz data/));
    await assert.rejects(openArchive(await writeTemp(dir, 'junk.bz2', Buffer.from('BZh9not really bzip2'))), tarpushError('ARCHIVE_NOT_TAR', /not valid bzip2 data/));
    // docker-archive.tar.zst decompresses 38400 bytes from 1734: over 5× once past 4 KiB.
    await assert.rejects(
      spool(Readable.from([readFileSync(at('docker-archive.tar.zst'))]), { label: 'z', tmpDir: dir, maxRatio: 5, ratioAfter: 4096 }),
      tarpushError('ARCHIVE_TOO_LARGE', /refusing a likely zstd bomb/),
    );
  });
});
