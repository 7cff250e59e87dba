import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { sha256 } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { REF_NAME_ANNOTATION, isRefName, openLayout, type OciLayout } from '../../src/ocidir/index.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-ocidir-manifest-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const fresh = (): Promise<OciLayout> => openLayout(join(root, `l${n++}`), { create: true });
const manifest = (i: number | string): Buffer =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { n: i }, layers: [] }));
const readIndexFile = async (l: OciLayout): Promise<{ manifests: Array<{ digest: string; annotations?: Record<string, string> }> }> =>
  JSON.parse(await readFile(join(l.root, 'index.json'), 'utf8'));

describe('OciLayout manifests', () => {
  it('stores a manifest under a tag: blob plus index.json entry', async () => {
    const l = await fresh();
    const raw = manifest(1);
    const digest = await l.putManifest('v1', raw, MediaType.ociManifest);
    assert.equal(digest, sha256(raw));
    const index = await readIndexFile(l);
    assert.deepEqual(index.manifests, [
      { mediaType: MediaType.ociManifest, digest, size: raw.length, annotations: { [REF_NAME_ANNOTATION]: 'v1' } },
    ]);
    const got = await l.getManifest('v1');
    assert.ok(got.raw.equals(raw));
    assert.equal(got.digest, digest);
    assert.equal(got.mediaType, MediaType.ociManifest);
    assert.deepEqual(await l.tags(), ['v1']);
  });

  it('moves an existing tag, keeping its place and the other tags', async () => {
    const l = await fresh();
    await l.putManifest('a', manifest('a'), MediaType.ociManifest);
    await l.putManifest('b', manifest('b1'), MediaType.ociManifest);
    await l.putManifest('c', manifest('c'), MediaType.ociManifest);
    const d2 = await l.putManifest('b', manifest('b2'), MediaType.dockerManifest);
    assert.deepEqual(await l.tags(), ['a', 'b', 'c']);
    const entries = await l.entries();
    assert.equal(entries.length, 3);
    assert.equal(entries[1]!.digest, d2);
    assert.equal(entries[1]!.mediaType, MediaType.dockerManifest);
    assert.ok((await l.getManifest('b')).raw.equals(manifest('b2')));
    // The same manifest under two tags: two entries.
    await l.putManifest('d', manifest('a'), MediaType.ociManifest);
    assert.deepEqual(await l.tags(), ['a', 'b', 'c', 'd']);
  });

  it('keeps every tag when many putManifest calls run at once', async () => {
    const l = await fresh();
    const other = await openLayout(l.root); // a second handle on the same directory
    const tags = Array.from({ length: 40 }, (_, i) => `t${i}`);
    await Promise.all(tags.map((t, i) => (i % 2 ? l : other).putManifest(t, manifest(i % 5), MediaType.ociManifest)));
    assert.deepEqual((await l.tags()).sort(), [...tags].sort());
    assert.ok((await readdir(l.root)).every((f) => !f.startsWith('.tmp-')));
  });

  it('re-reads index.json before writing, keeping tags another process added', async () => {
    const l = await fresh();
    await l.putManifest('mine', manifest(1), MediaType.ociManifest);
    const index = await readIndexFile(l);
    const foreign = { mediaType: MediaType.ociManifest, digest: sha256('x'), size: 1, annotations: { [REF_NAME_ANNOTATION]: 'theirs' } };
    await writeFile(join(l.root, 'index.json'), JSON.stringify({ ...index, manifests: [...index.manifests, foreign] }));
    await l.putManifest('mine2', manifest(2), MediaType.ociManifest);
    assert.deepEqual(await l.tags(), ['mine', 'theirs', 'mine2']);
  });

  it('stores by digest without touching index.json, and checks the digest', async () => {
    const l = await fresh();
    const raw = manifest('child');
    const digest = sha256(raw);
    assert.equal(await l.putManifest(digest, raw, MediaType.ociManifest), digest);
    assert.equal(await l.hasBlob(digest), true);
    assert.deepEqual((await readIndexFile(l)).manifests, []);
    const got = await l.getManifest(digest);
    assert.ok(got.raw.equals(raw));
    assert.equal(got.mediaType, MediaType.ociManifest, 'media type read from the manifest itself');

    await assert.rejects(l.putManifest(sha256('other'), raw, MediaType.ociManifest), (e) => isTarpushError(e, 'DIGEST_MISMATCH'));
    await assert.rejects(l.putManifest('sha256:nothex', raw, MediaType.ociManifest), (e) => isTarpushError(e, 'MANIFEST_INVALID'));
  });

  it('addIndexEntry lists an untagged manifest once', async () => {
    const l = await fresh();
    const raw = manifest('untagged');
    const digest = await l.putManifest(sha256(raw), raw, MediaType.ociManifest);
    const desc = { mediaType: MediaType.ociManifest, digest, size: raw.length };
    await l.addIndexEntry(desc);
    await l.addIndexEntry(desc);
    assert.deepEqual((await readIndexFile(l)).manifests, [desc]);
    assert.deepEqual(await l.tags(), []);
    await assert.rejects(l.addIndexEntry({ ...desc, digest: sha256('missing') }), (e) => isTarpushError(e, 'NOT_FOUND'));
    await assert.rejects(l.addIndexEntry({ ...desc, annotations: { [REF_NAME_ANNOTATION]: 'x' } }), (e) => isTarpushError(e, 'USAGE'));
  });

  it('reports unknown tags, missing blobs and corrupt blobs', async () => {
    const l = await fresh();
    await assert.rejects(l.getManifest('nope'), (e) => isTarpushError(e, 'NOT_FOUND'));
    await assert.rejects(l.getManifest(sha256('nope')), (e) => isTarpushError(e, 'NOT_FOUND'));
    const digest = await l.putManifest('v', manifest('x'), MediaType.ociManifest);
    await writeFile(join(l.root, 'blobs', 'sha256', digest.slice(7)), 'tampered');
    await assert.rejects(l.getManifest('v'), (e) => isTarpushError(e, 'DIGEST_MISMATCH'));
  });

  it('refuses invalid tags', async () => {
    const l = await fresh();
    for (const bad of ['', 'has space', '-leading', 'a//b', 'x'.repeat(300), 'tab\t']) {
      assert.equal(isRefName(bad), false, JSON.stringify(bad));
      await assert.rejects(l.putManifest(bad, manifest(1), MediaType.ociManifest), (e) => isTarpushError(e, 'REFERENCE_INVALID'));
    }
    for (const good of ['latest', 'v1.2.3', '_under', 'example.com/app:1.0', 'a--b', 'A_b-c.d']) {
      assert.equal(isRefName(good), true, good);
    }
  });
});
