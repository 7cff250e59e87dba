import { TarpushError } from '../errors.js';
import { sha256, type Digest } from '../image/digest.js';
import { compressionOfMediaType, formatOfManifestMediaType, layerMediaType, type Compression, type ManifestFormat } from '../image/media-types.js';
import { bufferSource } from '../image/sources.js';
import type { Artifact, Descriptor, Image, ImageIndex, IndexChild, Layer, Manifestable, Platform } from '../image/types.js';
import { hostPlatform, isAttestation, parsePlatform, platformMatches as matchesSpec, platformText } from '../image/platform.js';
import { settleAll } from '../util/settle-all.js';
import type { LayerChecks } from './layer-checks.js';
import type { BlobTransfers, StoredBlob } from './blob-transfers.js';
import type { CompressionOption, FormatOption } from './options.js';
import { convertMediaType, rewriteIndex, rewriteManifest } from './rewrite-manifest.js';

/** A manifest ready to be written: every blob it names is confirmed present in the place. */
export interface PreparedManifest {
  raw: Buffer;
  mediaType: string;
  digest: Digest;
  /** The manifest it refers to (OCI 1.1 `subject`): written after it, and listed among its referrers. */
  subject?: Descriptor;
  /** For the descriptor a referrers list holds. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Foreign layers it names but that were not uploaded (a registry may refuse the manifest for them). */
  foreign?: readonly Descriptor[];
}

export interface UploadSettings {
  format: FormatOption;
  compression: CompressionOption;
  level: number;
  platforms: readonly string[];
  /** Decompress compressed layers to check their diff_ids (default true). */
  verifyDiffIds: boolean;
  /** Check layers the place already holds even when this user proved them before or the config is not new (--verify). */
  reverify?: boolean;
  /** Upload foreign (non-distributable) layers as ordinary ones (default false: keep their descriptor, upload nothing). */
  allowNondistributable: boolean;
  /**
   * The place holds one platform per image (a docker archive): an index becomes its one
   * chosen image, the host's when no --platform says which.
   */
  onePlatform?: boolean;
}

/** No --platform keeps everything; otherwise any wanted platform, compared as image/platform.ts normalises them (x86_64 = amd64). */
const platformMatches = (p: Platform | undefined, wanted: readonly string[]): boolean =>
  wanted.length === 0 || wanted.some((w) => matchesSpec(p, parsePlatform(w)));

/**
 * What compression a layer is published in. `keep` leaves compressed layers alone and gzips
 * plain ones. Only layers whose media type says tar are ever transcoded: anything else (an
 * in-toto statement, a foreign layer) goes byte for byte.
 */
function targetCompression(layer: Layer, option: CompressionOption): Compression {
  if (compressionOfMediaType(layer.mediaType) === undefined || layer.foreign) return layer.compression;
  if (option === 'keep') return layer.compression === 'none' ? 'gzip' : layer.compression;
  return option;
}

/**
 * What one place's uploads share across every image of a publish: the blob transfers (each
 * blob once) and the manifests already uploaded, by digest. An archive's index is a DAG (the
 * readers give one digest one object), so memoising by digest makes every walk visit each
 * manifest once however often indexes repeat it.
 */
export interface PlaceUploads {
  readonly transfers: BlobTransfers;
  /** Writes an index child by digest (tags come later, from the caller). */
  readonly putChild: (m: PreparedManifest) => Promise<void>;
  readonly settings: UploadSettings;
  /** Shared by every place of the publish: each layer is verified once. */
  readonly checks: LayerChecks;
  /** Says something the user should know (once per publish: the caller folds repeats). */
  readonly note: (message: string) => void;
  readonly children: Map<Digest, Promise<PreparedManifest>>;
}

export function placeUploads(
  transfers: BlobTransfers,
  putChild: (m: PreparedManifest) => Promise<void>,
  settings: UploadSettings,
  checks: LayerChecks,
  note: (message: string) => void = () => {},
): PlaceUploads {
  return { transfers, putChild, settings, checks, note, children: new Map() };
}

/**
 * Uploads everything a manifest (or index, recursively) needs into one place and returns
 * the manifest bytes to write. Children of an index are written by digest here; tags are
 * written later, by the caller, once every place has every blob.
 */
export async function uploadContent(item: Manifestable, p: PlaceUploads): Promise<PreparedManifest> {
  switch (item.kind) {
    case 'image':
      return uploadImage(item, p);
    case 'artifact':
      return uploadArtifact(item, p);
    case 'index':
      return uploadIndex(item, p, p.settings.platforms);
  }
}

/** An index child, uploaded and written by digest at most once per place. */
function uploadChild(item: Manifestable, p: PlaceUploads): Promise<PreparedManifest> {
  let done = p.children.get(item.digest);
  if (!done) {
    done = (async () => {
      const child = item.kind === 'index' ? await uploadIndex(item, p, []) : await uploadContent(item, p);
      await p.putChild(child);
      return child;
    })();
    p.children.set(item.digest, done);
  }
  return done;
}

async function uploadImage(image: Image, p: PlaceUploads): Promise<PreparedManifest> {
  const { transfers, settings: s } = p;
  const format: ManifestFormat = s.format === 'keep' ? formatOfManifestMediaType(image.mediaType) : s.format;
  const config = transfers.ensure('config', image.config.digest, bufferSource(image.rawConfig, `${image.config.digest} (config)`), image.mountFrom);
  // A config the place already held was published there with these diff_ids before (a re-push,
  // a new tag): the layers it also holds make no new claim, and are not read to check them.
  const configNew = config.then((c) => c.action === 'uploaded', () => true);
  const layers = image.layers.map((layer) => publishLayer(layer, format, p, configNew));
  await settleAll<unknown>([config, ...layers]);
  const published = await Promise.all(layers); // all fulfilled by now
  const descriptors = published.map((l) => l.descriptor);
  const raw = rewriteManifest(image.rawManifest, { format: s.format === 'keep' ? undefined : format, config: image.config, layers: descriptors });
  const mediaType = convertMediaType(image.mediaType, s.format === 'keep' ? undefined : format);
  const digest = raw === image.rawManifest ? image.digest : sha256(raw);
  const uploadedForeign = published.filter((l) => l.foreignUploaded);
  if (uploadedForeign.length > 0) {
    p.note(`--allow-nondistributable-artifacts: ${uploadedForeign.length} foreign layer(s) of ${image.digest} uploaded as ordinary layers; the manifest is now ${digest}`);
  }
  const foreign = published.filter((l) => l.foreignKept).map((l) => l.descriptor);
  return { raw, mediaType, digest, ...(image.subject ? { subject: image.subject } : {}), ...(foreign.length ? { foreign } : {}) };
}

/** An artifact (SBOM, signature, attestation): its config and blobs as they are, its manifest byte for byte. */
async function uploadArtifact(a: Artifact, p: PlaceUploads): Promise<PreparedManifest> {
  const { transfers } = p;
  await settleAll<unknown>([
    transfers.ensure('config', a.config.digest, bufferSource(a.rawConfig, `${a.config.digest} (config of ${a.digest})`)),
    ...a.blobs.map((b) => transfers.ensure('layer', b.digest, b.source)),
  ]);
  return {
    raw: a.rawManifest,
    mediaType: a.mediaType,
    digest: a.digest,
    ...(a.subject ? { subject: a.subject } : {}),
    ...(a.artifactType ? { artifactType: a.artifactType } : {}),
    ...(a.annotations ? { annotations: a.annotations } : {}),
  };
}

interface PublishedLayer {
  descriptor: Descriptor;
  /** A foreign layer left where its urls say (not uploaded). */
  foreignKept?: boolean;
  /** A foreign layer uploaded as an ordinary one (--allow-nondistributable-artifacts). */
  foreignUploaded?: boolean;
}

async function publishLayer(layer: Layer, format: ManifestFormat, p: PlaceUploads, configNew: Promise<boolean>): Promise<PublishedLayer> {
  const { transfers, settings: s } = p;
  if (layer.foreign && !s.allowNondistributable) {
    // As docker, ggcr and containers/image do: the manifest keeps the descriptor, urls and
    // all, and the layer is fetched from its urls by whoever pulls it.
    const d: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
    if (layer.urls) d.urls = layer.urls;
    if (layer.annotations) d.annotations = layer.annotations;
    return { descriptor: d, foreignKept: true };
  }
  if (layer.absent) {
    throw new TarpushError('ARCHIVE_ENTRY_MISSING', `layer ${layer.digest} is not in the archive${layer.foreign ? ' (a foreign layer): --allow-nondistributable-artifacts needs its bytes' : ''}`, { expected: layer.digest });
  }
  const target = targetCompression(layer, s.compression);
  // A pair this user's runs proved is not decompressed again, not even while it uploads (--verify: it is).
  const check = p.checks.for(layer, { diffIds: s.verifyDiffIds && (!!s.reverify || !transfers.provenBefore(layer)) });
  let stored: StoredBlob;
  let mediaType = layer.foreign ? layerMediaType(format, layer.compression) : layer.mediaType;
  // Bytes that went out must have matched the archive's digests before any manifest names
  // them (settle). A compressed layer the place already held was not read: its diff_id is
  // still the archive's claim, so it is read once here unless this user's earlier run proved
  // that pair, or the place held the config too (that config was published there with its
  // diff_ids; docs/decisions.md "Existing layers") — a new config must not be published with
  // a wrong diff_id because the blob happens to exist remotely. What a completed check
  // proved is remembered for later runs.
  if (target === layer.compression) {
    stored = await transfers.ensure('layer', layer.digest, check.source, layer.mountFrom);
    const declared = layer.diffIdDeclared !== false;
    // A layer read from a registry is already published with that config there: copying it
    // makes no new claim, so one the destination holds (or mounted) is not downloaded to check.
    const unread = stored.action !== 'uploaded' && layer.compression !== 'none' && declared && s.verifyDiffIds && !layer.mountFrom && (s.reverify || (!transfers.provenBefore(layer) && (await configNew)));
    if (stored.action === 'uploaded' || unread) {
      transfers.phase(stored, 'verifying');
      const v = await check.settle(unread ? `${transfers.placeName} already holds it: checking its diff_id` : 'the upload resumed part-way: reading it once more');
      transfers.phase(stored, 'verified');
      if (v.diffIdChecked && layer.compression !== 'none') transfers.recordProven(stored, layer, layer.compression, 0);
    }
  } else {
    stored = await transfers.ensureTranscoded(layer, () => check.source.open(), target, s.level);
    mediaType = layerMediaType(format, target);
    // A blob produced here is proven when the bytes it was made from were (the cache's
    // produced blobs were proven by the run that made them).
    if (!stored.proven) {
      transfers.phase(stored, 'verifying');
      const v = await check.settle('the upload resumed part-way: reading it once more');
      transfers.phase(stored, 'verified');
      if ((v.diffIdChecked || layer.compression === 'none') && target !== 'none') transfers.recordProven(stored, layer, target, s.level);
    }
  }
  const d: Descriptor = { mediaType, digest: stored.digest, size: stored.size };
  if (layer.urls && !layer.foreign) d.urls = layer.urls;
  if (layer.annotations) d.annotations = layer.annotations;
  return { descriptor: d, ...(layer.foreign ? { foreignUploaded: true } : {}) };
}

const listPlatforms = (cs: readonly IndexChild[]): string => cs.map((c) => (isAttestation(c.descriptor) ? `attestation ${c.descriptor.digest.slice(7, 19)}` : platformText(c.descriptor.platform))).join(', ') || 'none';

/**
 * An index, with what the archive carries of it. A Docker 29 save keeps a pulled image's whole
 * index but only the host platform's manifests: what is carried is published — one image
 * platform as that manifest itself (its digest kept), several as an index of exactly the
 * carried entries (descriptors byte for byte, in order) — and a line says what was left out.
 */
async function uploadIndex(index: ImageIndex, p: PlaceUploads, chosen: readonly string[]): Promise<PreparedManifest> {
  const s = p.settings;
  const platforms = s.onePlatform && chosen.length === 0 ? [hostPlatform()] : chosen;
  const matches = (c: IndexChild) => platformMatches(c.descriptor.platform ?? (c.item?.kind === 'image' ? c.item.platform : undefined), platforms);
  const carried = index.manifests.filter((c) => c.item !== undefined);
  const missing = index.manifests.filter((c) => c.item === undefined);
  const images = index.manifests.filter((c) => !isAttestation(c.descriptor));
  const wantedImages = platforms.length === 0 ? images : images.filter(matches);
  if (wantedImages.length === 0) {
    throw new TarpushError('IMAGE_NOT_FOUND', `no manifest in index ${index.digest} matches --platform ${platforms.join(',')} (it has ${listPlatforms(images)})`);
  }
  const keptImages = wantedImages.filter((c) => c.item !== undefined);
  if (keptImages.length === 0) {
    throw new TarpushError(
      platforms.length ? 'IMAGE_NOT_FOUND' : 'ARCHIVE_ENTRY_MISSING',
      platforms.length
        ? `--platform ${platforms.join(',')}: index ${index.digest} lists it, but the archive does not carry it (it carries ${listPlatforms(carried)})`
        : `index ${index.digest}: the archive carries none of its image manifests (it lists ${listPlatforms(index.manifests)})`,
    );
  }
  // An attestation goes with the image it describes (BuildKit names it in an annotation).
  const keptDigests = new Set(keptImages.map((c) => c.descriptor.digest));
  const wantedDigests = new Set(wantedImages.map((c) => c.descriptor.digest));
  const describes = (c: IndexChild, set: Set<string>) => {
    const of = c.descriptor.annotations?.['vnd.docker.reference.digest'];
    return of === undefined ? platforms.length === 0 : set.has(of);
  };
  const wanted = index.manifests.filter((c) => (isAttestation(c.descriptor) ? describes(c, wantedDigests) : wantedDigests.has(c.descriptor.digest)));
  const kept = wanted.filter((c) => c.item !== undefined && (!isAttestation(c.descriptor) || describes(c, keptDigests) || c.descriptor.annotations?.['vnd.docker.reference.digest'] === undefined));
  if (s.onePlatform) {
    if (keptImages.length > 1) {
      throw new TarpushError('IMAGE_AMBIGUOUS', `index ${index.digest}: ${platforms.join(',')} matches ${keptImages.length} images (${listPlatforms(keptImages)}); this place holds one platform per image: name one with --platform`);
    }
    const only = keptImages[0]!;
    if (chosen.length === 0) p.note(`index ${index.digest}: this place holds one platform per image; writing the host's, ${listPlatforms([only])} (${only.descriptor.digest}); choose another with --platform`);
    return uploadChild(only.item!, p);
  }
  const left = wanted.filter((c) => c.item === undefined);
  if (left.length > 0 && keptImages.length === 1) {
    const only = keptImages[0]!;
    p.note(`index ${index.digest}: the archive carries only ${listPlatforms([only])}; publishing that manifest (${only.descriptor.digest}) itself, without ${listPlatforms(missing)}${kept.length > 1 ? ' or its attestations' : ''}`);
    return uploadChild(only.item!, p);
  }
  if (left.length > 0) {
    p.note(`index ${index.digest}: the archive does not carry ${listPlatforms(left)}; publishing an index of the ${kept.length} carried entries (its digest differs from the archive's)`);
  }
  const keptSet = new Set(kept);
  const children = await settleAll(
    index.manifests.map(async (c) => {
      if (!keptSet.has(c)) return undefined;
      const child = await uploadChild(c.item!, p);
      return { ...c.descriptor, mediaType: child.mediaType, digest: child.digest, size: child.raw.length };
    }),
  );
  const raw = rewriteIndex(index.rawManifest, { format: s.format === 'keep' ? undefined : s.format, children });
  const mediaType = convertMediaType(index.mediaType, s.format === 'keep' ? undefined : s.format);
  return { raw, mediaType, digest: raw === index.rawManifest ? index.digest : sha256(raw) };
}

/** A single image given --platform must match it too. */
export function checkPlatform(item: Manifestable, platforms: readonly string[]): void {
  if (item.kind === 'image' && !platformMatches(item.platform, platforms)) {
    throw new TarpushError('IMAGE_NOT_FOUND', `image ${item.digest} is ${platformText(item.platform)}, not ${platforms.join(',')}`);
  }
}
