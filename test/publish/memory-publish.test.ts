/**
 * Publish logic, fast: the real pipeline (publishImages) into in-memory places
 * (test/support/memory-sink.ts) that check what a registry checks and fail where told to.
 * The real-registry tests beside these show the same guarantees end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/index.js';
import { TarpushError, isTarpushError } from '../../src/errors.js';
import { sha256 } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import type { Archive, ArchiveImage, Artifact, Descriptor } from '../../src/image/types.js';
import { openedPlace } from '../../src/places/parse.js';
import type { PublishEvent } from '../../src/publish/events.js';
import { publishImages } from '../../src/publish/publish.js';
import { MAX_REFERRER_DEPTH } from '../../src/publish/referrers.js';
import type { TagOutcome } from '../../src/publish/write-tags.js';
import { expectedFacts, fixtureByName } from '../support/fixtures.js';
import { MemorySink, type MemoryCall } from '../support/memory-sink.js';

const opened: Archive[] = [];
async function imagesOf(name: string): Promise<readonly ArchiveImage[]> {
  const a = await openArchive(fixtureByName(name).path);
  opened.push(a);
  return a.images;
}
after(async () => {
  for (const a of opened) await a.close();
});

const fail = (what: string) => new TarpushError('REGISTRY_ERROR', `injected: ${what}`);
const isTagPut = (c: MemoryCall) => c.op === 'putManifest' && !c.target.startsWith('sha256:');

describe('publish into memory places', () => {
  let demo: readonly ArchiveImage[];
  let multi: readonly ArchiveImage[];
  let artifacts: readonly ArchiveImage[];
  const demoFacts = expectedFacts('oci-layout').images![0]!;
  before(async () => {
    demo = await imagesOf('oci-layout');
    multi = await imagesOf('multi-platform');
    artifacts = await imagesOf('oci-artifacts');
  });

  it('writes blobs, then the manifest under its tags; the result names what each place holds', async () => {
    const sink = new MemorySink();
    const [res] = await publishImages(demo, { source: '', destinations: [], tags: ['extra'], cache: false }, [openedPlace(sink.place(), 'v1')]);
    assert.equal(res!.digest, demoFacts.manifestDigest);
    assert.deepEqual([...sink.tags], [['v1', demoFacts.manifestDigest], ['extra', demoFacts.manifestDigest]]);
    const firstManifest = sink.log.findIndex((c) => c.op === 'putManifest');
    const lastBlob = Math.max(...sink.log.flatMap((c, i) => (c.op === 'putBlob' ? [i] : [])));
    assert.ok(lastBlob >= 0 && lastBlob < firstManifest, 'every blob before any manifest');
    assert.deepEqual(res!.destinations[0]!.tags.map((t) => [t.reference, t.live]), [['memory:test:v1', true], ['memory:test:extra', true]]);
  });

  it('a blob failing in one destination: no tag anywhere, and the others are not committed', async () => {
    const good = new MemorySink({ name: 'memory:good', commitStep: true });
    const layer = demoFacts.layers![0]!.digest;
    const bad = new MemorySink({ name: 'memory:bad', failWhen: (c) => (c.op === 'putBlob' && c.target === layer ? fail(`put ${layer}`) : undefined) });
    await assert.rejects(
      publishImages(demo, { source: '', destinations: [], cache: false }, [openedPlace(good.place(), 'v1'), openedPlace(bad.place(), 'v1')]),
      (e: unknown) => isTarpushError(e, 'REGISTRY_ERROR') && e.message.includes(layer),
    );
    assert.deepEqual([good.log.filter(isTagPut), bad.log.filter(isTagPut)], [[], []], 'no tag was written anywhere');
    assert.equal(good.state, 'aborted', 'the committing place was given up');
    assert.equal(good.log.some((c) => c.op === 'close'), false);
  });

  it('tags in waves: manifests, then indexes, then referrers; index children by digest before any tag', async () => {
    const sink = new MemorySink();
    const images = [...multi, ...artifacts];
    await publishImages(images, { source: '', destinations: [], all: true, cache: false }, [openedPlace(sink.place())]);
    const puts = sink.manifestPuts();
    const at = (pred: (c: MemoryCall) => boolean) => puts.flatMap((c, i) => (pred(c) ? [i] : []));
    const index = multi[0]!.root;
    assert.equal(index.kind, 'index');
    const children = index.kind === 'index' ? index.manifests.map((c) => c.descriptor.digest) : [];
    const image = artifacts.find((a) => a.root.kind === 'image')!.root.digest;
    const referrers = artifacts.filter((a) => a.root.kind === 'artifact').map((a) => a.root.digest);
    assert.equal(referrers.length, 2);
    const childPuts = at((c) => children.includes(c.digest!) && c.target === c.digest);
    const imageTag = at((c) => c.digest === image && isTagPut(c));
    const indexTag = at((c) => c.digest === index.digest && isTagPut(c));
    const referrerPuts = at((c) => referrers.includes(c.digest!));
    assert.equal(childPuts.length, children.length);
    assert.deepEqual([imageTag.length, indexTag.length, referrerPuts.length], [1, 1, 2]);
    assert.ok(Math.max(...childPuts) < imageTag[0]!, 'children by digest in phase 1');
    assert.ok(imageTag[0]! < indexTag[0]!, 'manifests before indexes');
    assert.ok(indexTag[0]! < Math.min(...referrerPuts), 'indexes before referrers');
    assert.deepEqual(sink.referrers.get(image)?.map((d) => d.digest).sort(), [...referrers].sort(), 'both referrers are listed for their subject');
  });

  it('a tag failing in one place: TAGS_INCOMPLETE says which tags are live, nothing is rolled back', async () => {
    const a = new MemorySink({ name: 'memory:a' });
    const b = new MemorySink({ name: 'memory:b', failWhen: (c) => (isTagPut(c) && c.target === 'v2' ? fail('tag v2') : undefined) });
    const err = await publishImages(demo, { source: '', destinations: [], tags: ['v2'], cache: false }, [openedPlace(a.place(), 'v1'), openedPlace(b.place(), 'v1')]).then(
      () => assert.fail('publish should fail'),
      (e: unknown) => e,
    );
    assert.ok(isTarpushError(err, 'TAGS_INCOMPLETE'));
    const live = (err.details.tags as TagOutcome[]).filter((t) => t.live).map((t) => t.reference).sort();
    assert.deepEqual(live, ['memory:a:v1', 'memory:a:v2', 'memory:b:v1']);
    assert.deepEqual([...b.tags.keys()], ['v1']);
    assert.match(err.message, /memory:b:v2/);
  });

  it('a tag write whose answer is lost but which took effect counts, with a note', async () => {
    let lost = false;
    const sink = new MemorySink({
      failWhen: (c) => {
        // The first tag write "reaches" the place (it is replayed here), then its answer is lost.
        if (isTagPut(c) && !lost) {
          lost = true;
          queueMicrotask(() => void sink.putManifest(c.target, demo[0]!.root.rawManifest, c.mediaType!));
          return fail('connection reset after the write');
        }
        return undefined;
      },
    });
    const events: PublishEvent[] = [];
    await publishImages(demo, { source: '', destinations: [], cache: false, onEvent: (e) => events.push(e) }, [openedPlace(sink.place(), 'v1')]);
    assert.equal(sink.tags.get('v1'), demoFacts.manifestDigest);
    assert.ok(events.some((e) => e.type === 'note' && /answer was lost, but the place holds/.test(e.message)));
  });

  it('a committing place is closed once, after its last tag; a second image shares the place', async () => {
    const sink = new MemorySink({ commitStep: true });
    await publishImages([...artifacts.filter((a) => a.root.kind === 'image'), ...multi], { source: '', destinations: [], all: true, cache: false }, [openedPlace(sink.place())]);
    const closes = sink.log.flatMap((c, i) => (c.op === 'close' ? [i] : []));
    assert.equal(closes.length, 1);
    assert.equal(closes[0], sink.log.length - 1, 'close is the last call');
    assert.equal(sink.state, 'closed');
    assert.deepEqual([...sink.visibleTags().keys()].sort(), ['multi', 'v1']);
  });

  it('listReferrers: referrers of what was written follow it, by digest, in the last wave; an images-only place gets none, with a note', async () => {
    const image = artifacts.find((a) => a.root.kind === 'image')!;
    const refs = artifacts.filter((a) => a.root.kind === 'artifact').map((a) => a.root);
    const asked: string[] = [];
    const listReferrers = async (subject: `sha256:${string}`) => (asked.push(subject), subject === image.root.digest ? refs : []);
    const sink = new MemorySink({ name: 'memory:full' });
    const images = new MemorySink({ name: 'memory:images', imagesOnly: true });
    const events: PublishEvent[] = [];
    await publishImages([image], { source: '', destinations: [], cache: false, listReferrers, onEvent: (e) => events.push(e) }, [openedPlace(sink.place(), 'v1'), openedPlace(images.place(), 'v1')]);
    const puts = sink.manifestPuts();
    const tagAt = puts.findIndex(isTagPut);
    const refAt = refs.map((r) => puts.findIndex((c) => c.target === r.digest));
    assert.ok(refAt.every((i) => i > tagAt), 'each referrer by digest, after the image tag');
    assert.deepEqual(sink.referrers.get(image.root.digest)?.map((d) => d.digest).sort(), refs.map((r) => r.digest).sort());
    assert.deepEqual(asked.sort(), [image.root.digest, ...refs.map((r) => r.digest)].sort(), 'each digest listed once, referrers too (depth 2)');
    assert.deepEqual(images.manifestPuts().map((c) => c.digest), [image.root.digest]);
    assert.ok(events.some((e) => e.type === 'note' && /memory:images holds images only: 2 referrer/.test(e.message)));
  });

  it('listReferrers: a chain of referrers is followed MAX_REFERRER_DEPTH deep, no further', async () => {
    const image = demo[0]!.root;
    const empty = Buffer.from('{}');
    const chain: Artifact[] = [];
    let subject: Descriptor = { mediaType: image.mediaType, digest: image.digest, size: image.rawManifest.length };
    for (let i = 0; i < MAX_REFERRER_DEPTH + 2; i++) {
      const config: Descriptor = { mediaType: MediaType.ociEmpty, digest: sha256(empty), size: empty.length };
      const rawManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: `application/vnd.example.level${i}`, config, layers: [], subject }));
      const a: Artifact = { kind: 'artifact', mediaType: MediaType.ociManifest, rawManifest, digest: sha256(rawManifest), config, rawConfig: empty, blobs: [], subject };
      chain.push(a);
      subject = { mediaType: a.mediaType, digest: a.digest, size: rawManifest.length };
    }
    const listReferrers = async (d: string) => chain.filter((a) => a.subject?.digest === d);
    const sink = new MemorySink();
    await publishImages(demo, { source: '', destinations: [], cache: false, listReferrers }, [openedPlace(sink.place(), 'v1')]);
    const written = chain.filter((a) => sink.manifests.has(a.digest)).length;
    assert.equal(written, MAX_REFERRER_DEPTH);
  });
});
