import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ArchiveImage } from '../image/types.js';
import type { BlobAction } from '../image/sink.js';
import { parseReference } from '../reference/index.js';
import { limit } from '../util/limit.js';
import { settleAll } from '../util/settle-all.js';
import { BlobTransfers } from './blob-transfers.js';
import { destinationTags, parseDestination, type Destination } from './destination.js';
import type { PublishListener } from './events.js';
import { publishDefaults, type PublishOptions } from './options.js';
import { openPlace, type Place } from './place.js';
import { checkPlatform, prepare, type PreparedManifest } from './prepare.js';
import { compressionSupported } from './transcode.js';

export interface PublishedBlob {
  digest: Digest;
  size: number;
  action: BlobAction;
  /** The place it went to (registry/repo or oci:dir). */
  place: string;
}

export interface PublishResult {
  digest: Digest;
  mediaType: string;
  /** Every tag written (`reg/repo:tag`) and, per place, the by-digest reference. */
  references: string[];
  blobs: PublishedBlob[];
}

interface Target {
  dest: Destination;
  place: Place;
  tags: string[];
}

/**
 * Publish one archive: every selected image to every destination. Blobs go first, to all
 * destinations; manifests are written only when every place has every blob, so a failure
 * anywhere leaves no new tag anywhere.
 */
export async function publish(opts: PublishOptions): Promise<PublishResult[]> {
  const settings = {
    format: opts.format ?? publishDefaults.format,
    compression: opts.compression ?? publishDefaults.compression,
    level: opts.compressionLevel ?? publishDefaults.compressionLevel,
    platforms: opts.platforms ?? [],
    verifyDiffIds: opts.verifyDiffIds ?? publishDefaults.verifyDiffIds,
  };
  if (settings.compression !== 'keep' && !compressionSupported(settings.compression)) {
    throw new TarpushError('USAGE', `--compression ${settings.compression} needs Node.js ≥ 22.15 (this is ${process.version})`);
  }
  const emit: PublishListener = opts.onEvent ?? (() => {});
  const dests = opts.destinations.map(parseDestination);
  const { openArchive, selectImages } = await import('../archive/index.js');
  const archive = await openArchive(opts.source, { stdin: opts.stdin });
  const cache = opts.cache === false ? undefined : (opts.cache ?? (await openDefaultCache()));
  try {
    const images = selectImages(archive, { image: opts.image, all: opts.all });
    const run = limit(opts.jobs ?? publishDefaults.jobs);
    const results: PublishResult[] = [];
    for (const image of images) {
      checkPlatform(image.root, settings.platforms);
      const targets = await planTargets(image, dests, opts);
      // Phase 1: blobs (and index children by digest) into every place.
      const prepared = await settleAll(
        targets.map(async (t) => {
          const transfers = new BlobTransfers(t.place, run, cache, emit);
          const putChild = (m: PreparedManifest) => putManifest(t, m.digest, m, emit);
          const manifest = await prepare(image.root, transfers, putChild, settingsFor(t.dest, settings));
          return { t, manifest, transfers };
        }),
      );
      for (const { t, manifest } of prepared) checkPinnedDigest(t.dest, manifest.digest);
      // Phase 2: tags, concurrently, once everything they need is present everywhere.
      const references: string[] = [];
      await settleAll(
        prepared.flatMap(({ t, manifest }) => {
          const refs = t.tags.length ? t.tags : [manifest.digest];
          references.push(...t.tags.map((tag) => t.place.reference(tag)), t.place.reference(manifest.digest));
          return refs.map((ref) => putManifest(t, ref, manifest, emit));
        }),
      );
      const top = prepared[0]!.manifest;
      results.push({
        digest: top.digest,
        mediaType: top.mediaType,
        references,
        blobs: prepared.flatMap(({ t, transfers }) => transfers.results.map((b) => ({ ...b, place: t.place.name }))),
      });
    }
    return results;
  } finally {
    await cache?.save().catch(() => {});
    await archive.close();
  }
}

/** A destination written `repo@sha256:…` must name the digest we are about to write. */
function checkPinnedDigest(dest: Destination, digest: string): void {
  const pinned = dest.kind === 'registry' ? dest.ref.digest : undefined;
  if (pinned && pinned !== digest) {
    throw new TarpushError('USAGE', `destination ${dest.text} names digest ${pinned}, but the image's manifest is ${digest}`, { expected: pinned, actual: digest });
  }
}

/**
 * `--format keep` into an OCI layout means OCI: layout readers (skopeo, podman) skip index
 * entries that are not OCI manifests. Registries keep the archive's own format.
 */
function settingsFor<S extends { format: PublishOptions['format'] }>(dest: Destination, s: S): S {
  return dest.kind === 'oci' && s.format === 'keep' ? { ...s, format: 'oci' } : s;
}

async function putManifest(t: Target, reference: string, m: PreparedManifest, emit: PublishListener): Promise<void> {
  const digest = await t.place.sink.putManifest(reference, m.raw, m.mediaType);
  if (digest !== m.digest) {
    throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `${t.place.reference(reference)}: stored manifest digest ${digest}, expected ${m.digest}`, { expected: m.digest, actual: digest });
  }
  emit({ type: 'manifest', place: t.place.name, reference, digest, mediaType: m.mediaType });
}

/** The tag an archive image carries: its RepoTag's tag, else its OCI ref name. */
function ownTags(image: ArchiveImage): string[] {
  const tags = image.repoTags.map((rt) => parseReference(rt).tag).filter((t): t is string => !!t);
  if (image.refName) tags.push(image.refName.includes(':') ? image.refName.slice(image.refName.lastIndexOf(':') + 1) : image.refName);
  return [...new Set(tags)];
}

async function planTargets(image: ArchiveImage, dests: Destination[], opts: PublishOptions): Promise<Target[]> {
  const extra = opts.tags ?? [];
  let plan: Array<{ dest: Destination; tags: string[] }>;
  if (dests.length === 0) {
    // No destination: publish to the image's own RepoTags, as `docker push` would.
    if (image.repoTags.length === 0) {
      throw new TarpushError('USAGE', `image ${image.index} of the archive has no RepoTags; name a destination`);
    }
    plan = image.repoTags.map((rt) => parseDestination(rt)).map((dest) => ({ dest, tags: destinationTags(dest, extra, 'latest') }));
  } else if (opts.all) {
    // Several images into one repository: each under its own tag(s).
    const own = ownTags(image);
    if (own.length === 0) throw new TarpushError('USAGE', `--all: image ${image.index} has no RepoTag or ref name to tag it with`);
    plan = dests.map((dest) => ({ dest, tags: destinationTags(withoutTag(dest), [...own, ...extra], undefined) }));
  } else {
    plan = dests.map((dest) => ({ dest, tags: destinationTags(dest, extra, 'latest') }));
  }
  return Promise.all(plan.map(async ({ dest, tags }) => ({ dest, tags, place: await openPlace(dest, opts.client) })));
}

/** With --all the destination's own tag would put every image under one tag: it is ignored. */
const withoutTag = (d: Destination): Destination => (d.kind === 'oci' ? { ...d, tag: undefined } : { ...d, ref: { ...d.ref, tag: undefined } });

async function openDefaultCache() {
  const { DigestCache } = await import('../cache/digest-cache.js');
  return DigestCache.open();
}
