import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/index.js';
import { isTarpushError } from '../../src/errors.js';
import { sha256 } from '../../src/image/digest.js';
import { bufferSource } from '../../src/image/sources.js';
import type { Image, ImageIndex } from '../../src/image/types.js';
import { DockerArchiveSink, OciArchiveSink } from '../../src/tarball/index.js';
import { run } from '../support/exec.js';
import { expectedFacts, fixtureByName } from '../support/fixtures.js';
import { putImage } from './put-image.js';

const haveSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const havePodman = spawnSync('podman', ['--version']).status === 0 && process.getuid?.() === 0;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-tarball-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fixtureRoot(name: string): Promise<Image | ImageIndex> {
  const archive = await openArchive(fixtureByName(name).path);
  const root = archive.images[0]!.root;
  assert.notEqual(root.kind, 'artifact');
  return root as Image | ImageIndex;
}

const demo = expectedFacts('oci-layout').images![0]!;
const hashOf = (s: string | Buffer): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

async function skopeoJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await run('skopeo', args)).stdout) as T;
}

/** What is in the directory besides the names given (temp files left behind show up here). */
async function others(dir: string, ...expected: string[]): Promise<string[]> {
  return (await readdir(dir)).filter((n) => !expected.includes(n));
}

async function podmanLoad(file: string): Promise<{ names: string[]; ids: string[] }> {
  const store = await mkdtemp(join(root, 'podman-'));
  const base = ['--storage-driver', 'vfs', '--root', join(store, 'root'), '--runroot', join(store, 'run')];
  try {
    await run('podman', [...base, 'load', '-i', file], { timeoutMs: 120_000 });
    const out = (await run('podman', [...base, 'images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout.trim().split('\n');
    return { names: out.map((l) => l.split(' ')[0]!).sort(), ids: [...new Set(out.map((l) => l.split(' ')[1]!.replace(/^sha256:/, '')))] };
  } finally {
    await rm(store, { recursive: true, force: true });
  }
}

describe('oci-archive sink', { skip: !haveSkopeo && 'skopeo not installed' }, () => {
  it('writes an archive skopeo inspects and copies with the manifest, config and layers put', async () => {
    const dir = await mkdtemp(join(root, 'oci-'));
    const file = join(dir, 'out.tar');
    const sink = await OciArchiveSink.create(file);
    await putImage(sink, await fixtureRoot('oci-layout'), ['demo', 'v2']);
    await assert.rejects(stat(file), 'nothing under the final name before close()');
    await sink.close();
    assert.deepEqual(await others(dir, 'out.tar'), [], 'no temp file left');

    for (const tag of ['demo', 'v2']) {
      const raw = (await run('skopeo', ['inspect', '--raw', `oci-archive:${file}:${tag}`])).stdout;
      assert.equal(hashOf(raw), demo.manifestDigest);
      const config = (await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${file}:${tag}`])).stdout;
      assert.equal(hashOf(config), demo.configDigest);
      assert.deepEqual((JSON.parse(config) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, demo.diffIds);
    }
    const out = join(dir, 'copied');
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}:demo`, `dir:${out}`]);
    const copied = await readFile(join(out, 'manifest.json'));
    assert.equal(sha256(copied), demo.manifestDigest);

    // tarpush reads it back as the same image, with both names.
    const back = await openArchive(file);
    try {
      assert.equal(back.format, 'oci-archive');
      assert.deepEqual(back.images.map((i) => [i.refName, i.root.digest]), [['demo', demo.manifestDigest], ['v2', demo.manifestDigest]]);
    } finally {
      await back.close();
    }
  });

  it('holds a multi-platform index; skopeo copies every platform', async () => {
    const dir = await mkdtemp(join(root, 'oci-multi-'));
    const file = join(dir, 'multi.tar');
    const index = await fixtureRoot('multi-platform');
    assert.equal(index.kind, 'index');
    const sink = await OciArchiveSink.create(file);
    await putImage(sink, index, ['multi']);
    await sink.close();
    const raw = (await run('skopeo', ['inspect', '--raw', `oci-archive:${file}:multi`])).stdout;
    assert.equal(hashOf(raw), index.digest);
    await run('skopeo', ['copy', '--quiet', '--all', `oci-archive:${file}:multi`, `dir:${join(dir, 'all')}`]);
    const files = await readdir(join(dir, 'all'));
    for (const child of (index as ImageIndex).manifests) assert.ok(files.includes(`${child.descriptor.digest.slice(7)}.manifest.json`), `child ${child.descriptor.digest} copied`);
    // index.json lists the index only, not its children.
    const back = await openArchive(file);
    try {
      assert.deepEqual(back.images.map((i) => i.root.digest), [index.digest]);
    } finally {
      await back.close();
    }
  });

  it('spools a blob of unknown digest, then appends it (no spool left)', async () => {
    const dir = await mkdtemp(join(root, 'oci-stream-'));
    const file = join(dir, 'stream.tar');
    const image = (await fixtureRoot('oci-layout')) as Image;
    const sink = await OciArchiveSink.create(file);
    const [first, ...rest] = image.layers;
    let progress = 0;
    const stored = await sink.putStream(() => first!.source.open(), (n) => (progress = n));
    assert.deepEqual(stored, { digest: first!.digest, size: first!.size });
    assert.equal(progress, first!.size);
    assert.equal(await sink.hasBlob(first!.digest, first!.size), true);
    assert.equal(await sink.hasBlob(first!.digest, first!.size + 1), false);
    assert.equal(await sink.hasBlob(image.config.digest), false, 'only what this run wrote counts');
    await sink.putBlob(image.config.digest, bufferSource(image.rawConfig, 'config'));
    await Promise.all(rest.map((l) => sink.putBlob(l.digest, l.source)));
    await sink.putBlob(first!.digest, first!.source); // already there: no second entry
    await sink.putManifest('demo', image.rawManifest, image.mediaType);
    const during = await readdir(dir);
    assert.equal(during.length, 1, 'only the temp archive, no spool, before close');
    assert.match(during[0]!, new RegExp(`^stream\\.tar\\.tmp-${process.pid}-[0-9a-f]{12}$`));
    await sink.close();
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}:demo`, `dir:${join(dir, 'out')}`]);
    const names = (await run('tar', ['tf', file])).stdout.trim().split('\n');
    assert.equal(names.filter((n) => n === `blobs/sha256/${first!.digest.slice(7)}`).length, 1, 'the blob is in the archive once');
    assert.equal(names.at(-1), 'index.json');
  });
});

describe('docker-archive sink', { skip: !haveSkopeo && 'skopeo not installed' }, () => {
  it('writes an archive skopeo reads with the config and diff_ids put, and podman loads', async () => {
    const dir = await mkdtemp(join(root, 'docker-'));
    const file = join(dir, 'save.tar');
    const sink = await DockerArchiveSink.create(file, { repository: 'example.com/demo/app' });
    await putImage(sink, await fixtureRoot('oci-layout'), ['v1', 'other.example/x:latest']);
    await sink.close();
    assert.deepEqual(await others(dir, 'save.tar'), []);

    const info = await skopeoJson<{ Layers: string[]; RepoTags?: string[] }>(['inspect', `docker-archive:${file}`]);
    assert.deepEqual(info.Layers, demo.diffIds, 'skopeo serves the layers uncompressed, by diff_id');
    const config = (await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${file}`])).stdout;
    assert.equal(hashOf(config), demo.configDigest);
    for (const name of ['example.com/demo/app:v1', 'other.example/x:latest']) {
      const c = (await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${file}:${name}`])).stdout;
      assert.equal(hashOf(c), demo.configDigest, `found by ${name}`);
    }
    await run('skopeo', ['copy', '--quiet', `docker-archive:${file}`, `dir:${join(dir, 'out')}`]);

    const manifestJson = JSON.parse((await run('tar', ['xOf', file, 'manifest.json'])).stdout) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.deepEqual(manifestJson, [
      {
        Config: `blobs/sha256/${demo.configDigest.slice(7)}`,
        RepoTags: ['example.com/demo/app:v1', 'other.example/x:latest'],
        Layers: demo.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    const repositories = JSON.parse((await run('tar', ['xOf', file, 'repositories'])).stdout) as unknown;
    assert.deepEqual(repositories, { 'example.com/demo/app': { v1: demo.layers.at(-1)!.digest.slice(7) }, 'other.example/x': { latest: demo.layers.at(-1)!.digest.slice(7) } });

    // tarpush reads it back with the manifest digest that was put (the OCI side is there too).
    const back = await openArchive(file);
    try {
      assert.equal(back.format, 'docker-save-oci');
      assert.deepEqual(back.images.map((i) => i.root.digest), [demo.manifestDigest, demo.manifestDigest]);
      assert.deepEqual(back.images.flatMap((i) => i.repoTags).sort(), ['example.com/demo/app:v1', 'other.example/x:latest']);
    } finally {
      await back.close();
    }

    if (havePodman) {
      const loaded = await podmanLoad(file);
      assert.deepEqual(loaded.names, ['example.com/demo/app:v1', 'other.example/x:latest']);
      assert.deepEqual(loaded.ids, [demo.configDigest.slice(7)], 'podman stores it under the config digest');
    }
  });

  it('a docker-save fixture round-trips: podman loads the single-tag archive', { skip: !havePodman && 'podman needs root here' }, async () => {
    const dir = await mkdtemp(join(root, 'docker-rt-'));
    const file = join(dir, 'rt.tar');
    const image = (await fixtureRoot('docker-archive.tar')) as Image;
    const sink = await DockerArchiveSink.create(file, { repository: 'example.com/demo/app' });
    await putImage(sink, image, ['v1']);
    await sink.close();
    const loaded = await podmanLoad(file);
    assert.deepEqual(loaded.names, ['example.com/demo/app:v1']);
    assert.deepEqual(loaded.ids, [image.config.digest.slice(7)]);
  });

  it('refuses an index with a clear message, and an abort leaves nothing', async () => {
    const dir = await mkdtemp(join(root, 'docker-index-'));
    const file = join(dir, 'multi.tar');
    const index = (await fixtureRoot('multi-platform')) as ImageIndex;
    const sink = await DockerArchiveSink.create(file, { repository: 'example.com/multi' });
    await assert.rejects(putImage(sink, index, ['v1']), (e: unknown) => {
      assert.ok(isTarpushError(e, 'USAGE'));
      assert.match(e.message, /one platform per image.*multi-platform index.*oci-archive/);
      return true;
    });
    await sink.abort();
    await sink.abort(); // twice is fine
    assert.deepEqual(await readdir(dir), []);
  });

  it('a bare tag needs a repository', async () => {
    const dir = await mkdtemp(join(root, 'docker-norepo-'));
    const sink = await DockerArchiveSink.create(join(dir, 'x.tar'));
    const image = (await fixtureRoot('oci-layout')) as Image;
    await assert.rejects(putImage(sink, image, ['v1']), /tag "v1" needs a repository name/);
    await sink.abort();
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('failures leave no archive under the final name', () => {
  it('a blob whose bytes are not its digest fails the put, the close, and removes the temp file', async () => {
    const dir = await mkdtemp(join(root, 'bad-'));
    const file = join(dir, 'bad.tar');
    const image = (await fixtureRoot('oci-layout')) as Image;
    const sink = await OciArchiveSink.create(file);
    const wrong = Buffer.from(image.rawConfig);
    wrong[0] = wrong[0]! ^ 1;
    await assert.rejects(sink.putBlob(image.config.digest, bufferSource(wrong, 'flipped config')), (e: unknown) => isTarpushError(e, 'DIGEST_MISMATCH'));
    // Later puts fail with the first failure: the archive is abandoned.
    await assert.rejects(sink.putBlob(image.layers[0]!.digest, image.layers[0]!.source), (e: unknown) => isTarpushError(e, 'DIGEST_MISMATCH'));
    await assert.rejects(sink.close(), (e: unknown) => isTarpushError(e, 'DIGEST_MISMATCH'));
    assert.deepEqual(await readdir(dir), []);
  });

  it('a blob longer than its size fails before the extra bytes are written', async () => {
    const dir = await mkdtemp(join(root, 'long-'));
    const file = join(dir, 'long.tar');
    const sink = await DockerArchiveSink.create(file, { repository: 'r' });
    const data = Buffer.from('hello world');
    const liar = { size: 5, location: 'liar', open: () => Readable.from([data]) };
    await assert.rejects(sink.putBlob(sha256(data.subarray(0, 5)), liar), (e: unknown) => isTarpushError(e, 'SIZE_MISMATCH') && /more than 5 bytes/.test(e.message));
    await assert.rejects(sink.close());
    assert.deepEqual(await readdir(dir), []);
  });

  it('an aborted run keeps the file that was there before', async () => {
    const dir = await mkdtemp(join(root, 'keep-'));
    const file = join(dir, 'keep.tar');
    await writeFile(file, 'previous archive');
    const sink = await OciArchiveSink.create(file);
    await putImage(sink, await fixtureRoot('oci-layout'), ['demo']);
    assert.equal((await readdir(dir)).length, 2, 'the temp file beside the old one');
    await sink.abort();
    assert.deepEqual(await readdir(dir), ['keep.tar']);
    assert.equal(await readFile(file, 'utf8'), 'previous archive');
    await assert.rejects(sink.putManifest('x', Buffer.from('{}'), 'application/vnd.oci.image.manifest.v1+json'), /aborted/);
  });

  it('closing with a manifest whose blobs were not put fails and leaves nothing', async () => {
    const dir = await mkdtemp(join(root, 'missing-'));
    const file = join(dir, 'missing.tar');
    const image = (await fixtureRoot('oci-layout')) as Image;
    const sink = await OciArchiveSink.create(file);
    await sink.putBlob(image.config.digest, bufferSource(image.rawConfig, 'config'));
    await sink.putManifest('demo', image.rawManifest, image.mediaType);
    await assert.rejects(sink.close(), (e: unknown) => isTarpushError(e, 'ARCHIVE_ENTRY_MISSING') && e.message.includes(image.layers[0]!.digest));
    assert.deepEqual(await readdir(dir), []);
  });
});
