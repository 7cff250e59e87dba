import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { parsePlatform, type PlatformSpec } from '../image/platform.js';
import type { BlobAction } from '../image/sink.js';
import type { ArchiveImage, Descriptor, Manifestable } from '../image/types.js';
import { openSink, type Place } from '../places/open-sink.js';
import { openSource } from '../places/open-source.js';
import { parsePlace, pinnedDigestOf, placeKey, registryOf, type PlaceRef } from '../places/parse.js';
import { parseReference, type Reference } from '../reference/index.js';
import type { ClientOptions } from '../registry/options.js';
import { limit } from '../util/limit.js';
import { printable } from '../util/printable.js';
import { settleAll } from '../util/settle-all.js';
import { BlobTransfers } from './blob-transfers.js';
import type { PublishListener } from './events.js';
import { LayerChecks } from './layer-checks.js';
import { LearnedPairings } from './learned-pairings.js';
import { Compressions } from './shared-compression.js';
import { publishDefaults, type PublishOptions } from './options.js';
import { uploadReferrers } from './referrers.js';
import { describeTargets, planTargets, type PlannedTarget } from './plan.js';
import { compressionSupported } from './transcode.js';
import { checkPlatform, placeUploads, uploadContent, type PlaceUploads, type PreparedManifest, type UploadSettings } from './upload-content.js';
import { writeManifest, writeTags, type TagOutcome } from './write-tags.js';

export interface PublishedBlob {
  digest: Digest;
  size: number;
  action: BlobAction;
  /** The place it went to (registry/repo or oci:dir). */
  place: string;
}

/** What one destination holds for one image. */
export interface DestinationResult {
  /** The destination as written (or the RepoTag it came from). */
  destination: string;
  /** `registry/repo` or `oci:/dir`. */
  place: string;
  /** The manifest digest this destination holds: an OCI layout gets an OCI manifest, so it can differ from a registry's. */
  digest: Digest;
  mediaType: string;
  /** `place@digest`. */
  reference: string;
  tags: TagOutcome[];
}

export interface PublishResult {
  /** The first destination's manifest digest and media type (see `destinations` for each). */
  digest: Digest;
  mediaType: string;
  /** Every tag written (`reg/repo:tag`) and, per place, the by-digest reference. */
  references: string[];
  blobs: PublishedBlob[];
  destinations: DestinationResult[];
  /** Which image of the source this is. */
  image: { index: number; repoTags: readonly string[]; refName?: string };
  /** Plain layers this publish compressed (all images, all places: each once), and their uncompressed bytes. */
  compressed?: { layers: number; bytes: number };
}

/** A place opened once per publish, with what its uploads share across images. */
interface OpenPlace {
  place: Place;
  uploads: PlaceUploads;
}

/**
 * Publish a source (an archive, a layout, a registry reference: any place that reads) to
 * every destination. See publishImages for the phases and what a failure leaves.
 */
export async function publish(opts: PublishOptions): Promise<PublishResult[]> {
  const src = parsePlace(opts.source, 'source', { archiveOnly: !opts.anySource });
  const dests = opts.destinations.map((d) => parsePlace(d, 'sink'));
  const client = withCredentialHosts(opts.client, [...[src, ...dests].flatMap((d) => registryOf(d) ?? []), ...cacheFromRefs(opts).map((r) => r.registry)]);
  const emit: PublishListener = opts.onEvent ?? (() => {});
  checkSettings(opts);
  const source = await openSource(src, { client, stdin: opts.stdin, onNote: (message) => emit({ type: 'note', message }) });
  try {
    const { selectImages } = await import('../archive/select.js');
    const image = opts.image ?? source.selects;
    const images = selectImages(source, { image, all: opts.all && image === undefined });
    if (opts.referrers && !source.referrers) throw new TarpushError('USAGE', `--referrers: ${printable(source.path)} cannot list referrers (a registry source can)`);
    return await publishImages(images, { ...opts, client, ...(opts.referrers ? { listReferrers: source.referrers } : {}) }, dests);
  } finally {
    await source.close();
  }
}

/**
 * Publish images already opened, in three phases across all of them and every destination:
 * (1) every blob and index child into every place, (2) every manifest digest checked against
 * what the destination pins, (3) tags — manifests that refer to another (`subject`) after the
 * rest — then referrer lists, then the places' commit step (a tar takes its name). A failure
 * before (3) leaves no new tag anywhere (and no tar under its final name); a failure in (3)
 * says which tags are live (TAGS_INCOMPLETE).
 */
export async function publishImages(images: readonly ArchiveImage[], opts: PublishOptions, dests: readonly PlaceRef[] = opts.destinations.map((d) => parsePlace(d, 'sink'))): Promise<PublishResult[]> {
  const settings = checkSettings(opts);
  const emit = onceNotes(opts.onEvent ?? (() => {}));
  const cacheFrom = cacheFromRefs(opts);
  const client = withCredentialHosts(opts.client, [...dests.flatMap((d) => registryOf(d) ?? []), ...cacheFrom.map((r) => r.registry)]);
  const cache = opts.cache === false ? undefined : (opts.cache ?? (await openDefaultCache()));
  const warned = new Set(cache?.warnings ?? []);
  for (const w of warned) emit({ type: 'note', message: w });
  const checks = new LayerChecks((layer, reason) => emit({ type: 'verify', digest: layer.digest, reason }));
  const places = new Map<string, Promise<OpenPlace>>();
  let compressions: Compressions | undefined;
  let committed = false;
  try {
    for (const image of images) checkPlatform(image.root, settings.platforms);
    const targets = planTargets({ images, dests, tags: opts.tags ?? [], all: !!opts.all });
    if (dests.length === 0) emit({ type: 'note', message: `no destination given: publishing to the archive's RepoTags: ${describeTargets(targets)}` });

    const run = limit(opts.jobs ?? publishDefaults.jobs);
    compressions = new Compressions(new Set(targets.map((t) => placeKey(t.dest))).size > 1);
    const tagsAt = new Map<string, string[]>();
    for (const t of targets) if (t.dest.kind === 'registry') tagsAt.set(`${t.dest.ref.registry}/${t.dest.ref.repository}`, [...(tagsAt.get(`${t.dest.ref.registry}/${t.dest.ref.repository}`) ?? []), ...t.tags]);
    const pairings = new LearnedPairings({
      client,
      ...(cache ? { cache } : {}),
      cacheFrom,
      platforms: settings.platforms.length ? settings.platforms.map(parsePlatform) : platformsOf(images.map((i) => i.root)),
      tagsAt,
      ...(opts.learnTimeoutMs !== undefined ? { timeoutMs: opts.learnTimeoutMs } : {}),
      verify: settings.verifyDiffIds,
      reverify: !!settings.reverify,
      checks,
      emit,
    });
    const openOnce = (dest: PlaceRef): Promise<OpenPlace> => {
      const key = placeKey(dest);
      let p = places.get(key);
      if (!p) {
        p = openSink(dest, { client, verifyExisting: opts.verifyExisting }).then((place) => {
          const transfers = new BlobTransfers(place, run, cache, emit, pairings, compressions);
          const note = (message: string) => emit({ type: 'note', message });
          const uploads = placeUploads(transfers, (m) => writeManifest(place, m.digest, m, emit), settingsFor(place, settings), checks, note);
          return { place, uploads };
        });
        places.set(key, p);
      }
      return p;
    };

    // Phase 1: blobs and index children, every image into every place.
    const uploaded = await settleAll(
      targets.map(async (t) => {
        const open = await openOnce(t.dest);
        return { t, open, manifest: await uploadContent(t.image.root, open.uploads) };
      }),
    );
    // Phase 1b: what refers to the manifests just written, listed at the source (copy --referrers).
    if (opts.listReferrers) uploaded.push(...(await uploadReferrers(uploaded, opts.listReferrers, (message) => emit({ type: 'note', message }))));
    // Phase 2: a destination written `repo@sha256:…` must name the digest we are about to write.
    for (const { t, manifest } of uploaded) checkPinnedDigest(t.dest, manifest.digest);
    // Phase 3: tags (a target without tags: its manifest by digest), subjects before their referrers.
    const jobs = uploaded.flatMap(({ t, open, manifest }) => (t.tags.length ? t.tags : [manifest.digest]).map((tag) => ({ place: open.place, tag, manifest, t })));
    let outcomes: TagOutcome[];
    try {
      outcomes = await writeTags(jobs, emit);
    } catch (err) {
      if (err instanceof TarpushError && err.code === 'TAGS_INCOMPLETE') {
        err.details.results = results(images, uploaded, err.details.tags as TagOutcome[], jobs, compressions.work);
      }
      throw err;
    }
    await listAndRefer(uploaded, emit);
    await settleAll([...places.values()].map(async (p) => (await p).place.close?.()));
    committed = true;
    return results(images, uploaded, outcomes, jobs, compressions.work);
  } finally {
    if (!committed) await Promise.allSettled([...places.values()].map(async (p) => (await p).place.abort?.()));
    await compressions?.close().catch(() => {});
    await checks.close();
    await cache?.save().catch(() => {});
    for (const w of cache?.warnings ?? []) if (!warned.has(w)) emit({ type: 'note', message: w });
  }
}

type Uploaded = { t: PlannedTarget; open: OpenPlace; manifest: PreparedManifest };

/**
 * After the tags: a manifest written by digest alone is listed where the place needs it to be
 * found (a layout's index.json), and one that refers to another (`subject`) is added to that
 * subject's referrers where the place keeps the list itself (a registry without the
 * referrers API: the OCI 1.1 fallback tag).
 */
async function listAndRefer(uploaded: readonly Uploaded[], emit: PublishListener): Promise<void> {
  const done = new Set<string>();
  for (const { t, open, manifest } of uploaded) {
    const key = `${open.place.name} ${manifest.digest}`;
    if (done.has(key)) continue;
    done.add(key);
    const d: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.raw.length };
    if (manifest.artifactType) d.artifactType = manifest.artifactType;
    if (manifest.annotations) d.annotations = manifest.annotations;
    if (manifest.subject && open.place.recordReferrer) {
      const how = await open.place.recordReferrer(manifest.subject, d);
      if (how === 'tag') emit({ type: 'note', message: `${open.place.reference(manifest.digest)} refers to ${manifest.subject.digest}: added to the referrers tag ${manifest.subject.digest.replace(':', '-')}` });
    } else if (t.tags.length === 0 && open.place.listUntagged) {
      await open.place.listUntagged(d);
    }
  }
}

/** Results per image, in source order, each with what every destination holds. */
function results(
  images: readonly ArchiveImage[],
  uploaded: readonly Uploaded[],
  outcomes: readonly TagOutcome[],
  jobs: ReadonlyArray<{ t: PlannedTarget }>,
  compressed: { layers: number; bytes: number },
): PublishResult[] {
  return images.map((image) => {
    const mine = uploaded.filter((u) => u.t.image === image);
    const destinations = mine.map(({ t, open, manifest }) => ({
      destination: t.dest.text,
      place: open.place.name,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      reference: open.place.reference(manifest.digest),
      tags: outcomes.filter((_, i) => jobs[i]!.t === t && t.tags.length > 0),
    }));
    const places = [...new Set(mine.map((u) => u.open))];
    const first = destinations[0]!;
    return {
      digest: first.digest,
      mediaType: first.mediaType,
      references: destinations.flatMap((d) => [...d.tags.filter((o) => o.live).map((o) => o.reference), d.reference]),
      blobs: places.flatMap(({ place, uploads }) => uploads.transfers.results.map((b) => ({ ...b, place: place.name }))),
      destinations,
      image: { index: image.index, repoTags: image.repoTags, ...(image.refName !== undefined ? { refName: image.refName } : {}) },
      compressed: { ...compressed },
    };
  });
}

/** --cache-from references, parsed (a tag defaults to latest, as a pull's would). */
function cacheFromRefs(opts: PublishOptions): Reference[] {
  return (opts.cacheFrom ?? []).map((r) => parseReference(r, { defaultTag: 'latest' }));
}

/** The platforms of the images published: a previous index's children matching one of them are read. */
function platformsOf(items: readonly Manifestable[]): PlatformSpec[] {
  const out: PlatformSpec[] = [];
  const visit = (it: Manifestable): void => {
    if (it.kind === 'image' && it.platform) out.push({ os: it.platform.os, architecture: it.platform.architecture, ...(it.platform.variant ? { variant: it.platform.variant } : {}) });
    if (it.kind === 'index') for (const c of it.manifests) if (c.item) visit(c.item);
  };
  for (const it of items) visit(it);
  return out;
}

function checkSettings(opts: PublishOptions): UploadSettings {
  const settings: UploadSettings = {
    format: opts.format ?? publishDefaults.format,
    compression: opts.compression ?? publishDefaults.compression,
    level: opts.compressionLevel ?? publishDefaults.compressionLevel,
    platforms: opts.platforms ?? [],
    verifyDiffIds: opts.verifyDiffIds ?? publishDefaults.verifyDiffIds,
    allowNondistributable: opts.allowNondistributable ?? false,
    reverify: !!opts.verifyExisting,
  };
  if (settings.compression !== 'keep' && !compressionSupported(settings.compression)) {
    throw new TarpushError('USAGE', `--compression ${settings.compression} needs Node.js ≥ 22.15 (this is ${process.version})`);
  }
  for (const p of settings.platforms) parsePlatform(p); // a malformed --platform is a usage error before any work
  return settings;
}

/** Notes are said once per publish, however many places or images lead to the same one. */
function onceNotes(emit: PublishListener): PublishListener {
  const said = new Set<string>();
  return (e) => {
    if (e.type === 'note') {
      if (said.has(e.message)) return;
      said.add(e.message);
    }
    emit(e);
  };
}

/**
 * Registry clients are shared per options object (by identity), so the derived options are
 * memoised per caller's object and host list: repeated publishes keep their pools and tokens.
 * Credentials from flags and the environment belong to the hosts the user wrote, never to a
 * registry an archive's RepoTags name.
 */
const derivedClients = new WeakMap<ClientOptions, Map<string, ClientOptions>>();
const noClient: ClientOptions = {};

function withCredentialHosts(client: ClientOptions | undefined, hosts: string[]): ClientOptions {
  if (client?.credentialHosts) return client;
  const base = client ?? noClient;
  let byHosts = derivedClients.get(base);
  if (!byHosts) derivedClients.set(base, (byHosts = new Map()));
  const key = hosts.join(' ');
  let derived = byHosts.get(key);
  if (!derived) byHosts.set(key, (derived = { ...base, credentialHosts: hosts }));
  return derived;
}

function checkPinnedDigest(dest: PlaceRef, digest: string): void {
  const pinned = pinnedDigestOf(dest);
  if (pinned && pinned !== digest) {
    throw new TarpushError('USAGE', `destination ${dest.text} names digest ${pinned}, but the image's manifest is ${digest}`, { expected: pinned, actual: digest });
  }
}

/** What the place can hold decides the settings of its uploads (see Place.keepFormat and Place.onePlatform). */
function settingsFor(place: Place, s: UploadSettings): UploadSettings {
  return {
    ...s,
    ...(place.keepFormat && s.format === 'keep' ? { format: place.keepFormat } : {}),
    ...(place.onePlatform ? { onePlatform: true } : {}),
  };
}

async function openDefaultCache() {
  const { DigestCache } = await import('../cache/digest-cache.js');
  return DigestCache.open();
}
