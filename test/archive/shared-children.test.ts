import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openArchive } from '../../src/archive/open.js';
import { MAX_INDEX_DEPTH, MAX_MANIFESTS } from '../../src/archive/manifest-dag.js';
import { describeImages } from '../../src/image/describe.js';
import type { Descriptor } from '../../src/image/types.js';
import type { ImageIndex, Manifestable } from '../../src/image/types.js';
import { packTar, tempDir, writeTemp } from './support/build-tar.js';
import { tarpushError } from './support/assert-error.js';
import { Blobs, kanikoEntries, makeConfig, makeLayer, ociImage, ociIndex, ociLayoutEntries, type LayerBlob } from './support/images.js';

/**
 * Hostile OCI archives whose indexes share children: small on disk, exponential as a tree.
 * The reader builds each digest once (the model is a DAG), and every walk visits each
 * digest once, so these open and describe in linear time.
 */

const bin = fileURLToPath(new URL('../../../bin/tarpush.js', import.meta.url));

let dir: string;
let cleanup: () => Promise<void>;
let layer: LayerBlob;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  layer = await makeLayer({ a: '1' });
});
after(() => cleanup());

/**
 * `depth` levels of `width` distinct indexes; every index of a level lists every index of
 * the next level (`repeat` times each); the last level lists the images. Paths: width^depth.
 */
function dagLayout(opts: { width: number; depth: number; repeat?: number; images?: number }): { blobs: Blobs; top: Descriptor } {
  const blobs = new Blobs();
  const images = Array.from({ length: opts.images ?? 2 }, (_, i) =>
    ociImage(blobs, [layer], makeConfig([layer.diffId], { os: 'linux', architecture: i === 0 ? 'amd64' : `arch${i}` })),
  );
  let level: Descriptor[] = images;
  for (let d = 0; d < opts.depth; d++) {
    const children = level.flatMap((c) => Array.from({ length: opts.repeat ?? 1 }, () => c));
    // The annotations make the indexes of one level distinct documents.
    level = Array.from({ length: opts.width }, (_, w) => ociIndex(blobs, children, {}, { annotations: { level: `${d}`, n: `${w}` } }));
  }
  return { blobs, top: level[0]! };
}

async function writeLayout(name: string, blobs: Blobs, top: Descriptor[]): Promise<string> {
  return writeTemp(dir, name, await packTar(ociLayoutEntries(blobs, top)));
}

/** Every distinct object under `root`, with how many parents list it. */
function objects(root: Manifestable): Map<Manifestable, number> {
  const seen = new Map<Manifestable, number>();
  const walk = (it: Manifestable | undefined): void => {
    if (!it) return;
    const n = seen.get(it);
    seen.set(it, (n ?? 0) + 1);
    if (n !== undefined || it.kind !== 'index') return;
    for (const c of it.manifests) walk(c.item);
  };
  walk(root);
  return seen;
}

describe('indexes that share children', () => {
  it('a 2-wide × 30-deep index DAG (2^30 paths) opens and describes in well under a second', async () => {
    const { blobs, top } = dagLayout({ width: 2, depth: 30 });
    const file = await writeLayout('dag-2x30.tar', blobs, [top]);
    const t0 = performance.now();
    const archive = await openArchive(file);
    try {
      const described = describeImages(archive.images[0]!.root, { repoTags: [] });
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `took ${Math.round(ms)} ms`);
      assert.deepEqual(
        described.map((d) => d.platform?.architecture),
        ['amd64', 'arch1'],
        'each image once',
      );
      // 2 indexes per level, 2 images: one object per digest.
      assert.equal(objects(archive.images[0]!.root).size, 1 + 2 * 29 + 2);
    } finally {
      await archive.close();
    }
  });

  it('an index listing one manifest 10,100 times holds one object and describes it once', async () => {
    const blobs = new Blobs();
    const m = ociImage(blobs, [layer], makeConfig([layer.diffId]));
    const top = ociIndex(blobs, Array.from({ length: 10_100 }, () => m));
    const archive = await openArchive(await writeLayout('dup-10100.tar', blobs, [top, top]));
    try {
      const root = archive.images[0]!.root as ImageIndex;
      assert.equal(root.manifests.length, 10_100, 'the index still says what it says');
      assert.equal(new Set(root.manifests.map((c) => c.item)).size, 1, 'one object for the one digest');
      assert.equal(archive.images[1]!.root, root, 'two entry points, one object');
      assert.equal(describeImages(root, { repoTags: [] }).length, 1);
    } finally {
      await archive.close();
    }
  });

  it('CLI: a 40 KB archive of 36-wide × 7-deep shared indexes (36^7 paths) inspects at once', { timeout: 60_000 }, async () => {
    const { blobs, top } = dagLayout({ width: 1, depth: 7, repeat: 36, images: 1 });
    const file = await writeLayout('wide.tar', blobs, [top]);
    assert.ok(statSync(file).size < 64 * 1024, `${statSync(file).size} bytes`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, 'inspect', '--json', file], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    const ms = performance.now() - t0;
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { images: unknown[] }).images.length, 1);
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
  });

  it(`refuses more than ${MAX_INDEX_DEPTH} nested indexes, even when a shared child is first reached by a short path`, async () => {
    // top lists the deep chain's bottom part directly first, then the whole chain:
    // read depth-first, the shared part is first met near the top.
    const blobs = new Blobs();
    const m = ociImage(blobs, [layer], makeConfig([layer.diffId]));
    const chain: Descriptor[] = [m];
    for (let i = 0; i < MAX_INDEX_DEPTH + 2; i++) chain.push(ociIndex(blobs, [chain[chain.length - 1]!]));
    const shallow = chain[MAX_INDEX_DEPTH - 2]!; // fine on its own: MAX_INDEX_DEPTH - 2 levels
    const top = ociIndex(blobs, [shallow, chain[chain.length - 1]!]);
    await assert.rejects(openArchive(await writeLayout('deep-shortcut.tar', blobs, [top])), tarpushError('MANIFEST_INVALID', /nested more than 32 deep/));
    // The shallow part alone is accepted.
    const ok = await openArchive(await writeLayout('shallow.tar', blobs, [ociIndex(blobs, [shallow])]));
    await ok.close();
  });

  it('one digest listed as an OCI and a Docker manifest is one document, read as it says (noted); as a manifest and an index it is refused', async () => {
    const blobs = new Blobs();
    const m = ociImage(blobs, [layer], makeConfig([layer.diffId]));
    const docker = { ...m, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' };
    const notes: string[] = [];
    const a = await openArchive(await writeLayout('two-types.tar', blobs, [ociIndex(blobs, [docker, m])]), { onNote: (s) => notes.push(s) });
    const root = a.images[0]!.root as ImageIndex;
    assert.equal(root.manifests[0]!.item, root.manifests[1]!.item);
    assert.equal(root.manifests[0]!.item!.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(notes.length, 1, 'said once');
    await a.close();
    const asIndex = { ...m, mediaType: 'application/vnd.oci.image.index.v1+json' };
    await assert.rejects(openArchive(await writeLayout('index-and-manifest.tar', blobs, [ociIndex(blobs, [m, asIndex])])), tarpushError('MANIFEST_INVALID', /listed as/));
  });
});

describe('manifest.json archives that repeat images', () => {
  it('entries describing the same image share one object', async () => {
    const l = await makeLayer({ b: '2' });
    const image = { layers: [l], config: makeConfig([l.diffId]) };
    const archive = await openArchive(
      await writeTemp(dir, 'kaniko-dup.tar', await packTar(kanikoEntries([{ ...image, tags: ['r/a:1'] }, { ...image, tags: ['r/a:2'] }, { ...image, tags: ['r/a:3'] }]))),
    );
    try {
      assert.equal(archive.images.length, 3);
      assert.equal(new Set(archive.images.map((i) => i.root)).size, 1);
      assert.deepEqual(archive.images.map((i) => i.repoTags), [['r/a:1'], ['r/a:2'], ['r/a:3']]);
    } finally {
      await archive.close();
    }
  });

  it(`refuses a manifest.json of more than ${MAX_MANIFESTS} images with ARCHIVE_TOO_LARGE`, async () => {
    const l = await makeLayer({ c: '3' });
    const image = { layers: [l], config: makeConfig([l.diffId]), tags: [] as string[] };
    const file = await writeTemp(dir, 'kaniko-many.tar', await packTar(kanikoEntries(Array.from({ length: MAX_MANIFESTS + 1 }, () => image))));
    await assert.rejects(openArchive(file), tarpushError('ARCHIVE_TOO_LARGE', /10001 images, more than 10000/));
  });
});
