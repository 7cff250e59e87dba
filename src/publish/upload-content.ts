import { TarpushError } from '../errors.js';
import { sha256, type Digest } from '../image/digest.js';
import { formatOfManifestMediaType, layerMediaType, type Compression, type ManifestFormat } from '../image/media-types.js';
import { bufferSource } from '../image/sources.js';
import type { Descriptor, Image, ImageIndex, Layer, Manifestable, Platform } from '../image/types.js';
import { parsePlatform, platformMatches as matchesSpec, platformText } from '../image/platform.js';
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
}

export interface UploadSettings {
  format: FormatOption;
  compression: CompressionOption;
  level: number;
  platforms: readonly string[];
  /** Decompress compressed layers to check their diff_ids (default true). */
  verifyDiffIds: boolean;
}


/** No --platform keeps everything; otherwise any wanted platform, compared as image/platform.ts normalises them (x86_64 = amd64). */
const platformMatches = (p: Platform | undefined, wanted: readonly string[]): boolean =>
  wanted.length === 0 || wanted.some((w) => matchesSpec(p, parsePlatform(w)));

/** What compression a layer is published in. `keep` leaves compressed layers alone and gzips plain ones. */
function targetCompression(layer: Layer, option: CompressionOption): Compression {
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
  readonly children: Map<Digest, Promise<PreparedManifest>>;
}

export function placeUploads(
  transfers: BlobTransfers,
  putChild: (m: PreparedManifest) => Promise<void>,
  settings: UploadSettings,
  checks: LayerChecks,
): PlaceUploads {
  return { transfers, putChild, settings, checks, children: new Map() };
}

/**
 * Uploads everything a manifest (or index, recursively) needs into one place and returns
 * the manifest bytes to write. Children of an index are written by digest here; tags are
 * written later, by the caller, once every place has every blob.
 */
export async function uploadContent(item: Manifestable, p: PlaceUploads): Promise<PreparedManifest> {
  const s = p.settings;
  if (item.kind === 'artifact') throw artifactNotYet(item);
  return item.kind === 'image' ? uploadImage(item, p) : uploadIndex(item, p, s.platforms);
}

/** An index child, uploaded and written by digest at most once per place. */
function uploadChild(item: Manifestable, p: PlaceUploads): Promise<PreparedManifest> {
  let done = p.children.get(item.digest);
  if (!done) {
    done = (async () => {
      if (item.kind === 'artifact') throw artifactNotYet(item);
      const child = item.kind === 'image' ? await uploadImage(item, p) : await uploadIndex(item, p, []);
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
  const config = transfers.ensure('config', image.config.digest, bufferSource(image.rawConfig, `${image.config.digest} (config)`));
  const layers = image.layers.map((layer) => publishLayer(layer, format, p));
  await settleAll<unknown>([config, ...layers]);
  const descriptors = await Promise.all(layers); // all fulfilled by now
  const raw = rewriteManifest(image.rawManifest, { format: s.format === 'keep' ? undefined : format, config: image.config, layers: descriptors });
  const mediaType = convertMediaType(image.mediaType, s.format === 'keep' ? undefined : format);
  return { raw, mediaType, digest: raw === image.rawManifest ? image.digest : sha256(raw) };
}

async function publishLayer(layer: Layer, format: ManifestFormat, p: PlaceUploads): Promise<Descriptor> {
  const { transfers, settings: s } = p;
  const target = targetCompression(layer, s.compression);
  const check = p.checks.for(layer, { diffIds: s.verifyDiffIds });
  let stored: StoredBlob;
  let mediaType = layer.mediaType;
  // Bytes that went out must have matched the archive's digests before any manifest names
  // them (settle). A compressed layer the place already held was not read: its diff_id is
  // still the archive's claim, so it is read once here unless this user's earlier run proved
  // that pair — a config must not be published with a wrong diff_id because the blob happens
  // to exist remotely. What a completed check proved is remembered for later runs.
  if (target === layer.compression) {
    stored = await transfers.ensure('layer', layer.digest, check.source);
    const unread = stored.action !== 'uploaded' && layer.compression !== 'none' && s.verifyDiffIds && !transfers.provenBefore(layer);
    if (stored.action === 'uploaded' || unread) {
      const v = await check.settle(unread ? `${transfers.placeName} already holds it: checking its diff_id` : 'the upload resumed part-way: reading it once more');
      if (v.diffIdChecked && layer.compression !== 'none') transfers.recordProven(stored, layer, layer.compression, 0);
    }
  } else {
    stored = await transfers.ensureTranscoded(layer, () => check.source.open(), target, s.level);
    mediaType = layerMediaType(format, target);
    // A blob produced here is proven when the bytes it was made from were (the cache's
    // produced blobs were proven by the run that made them).
    if (!stored.proven) {
      const v = await check.settle('the upload resumed part-way: reading it once more');
      if ((v.diffIdChecked || layer.compression === 'none') && target !== 'none') transfers.recordProven(stored, layer, target, s.level);
    }
  }
  const d: Descriptor = { mediaType, digest: stored.digest, size: stored.size };
  if (layer.urls) d.urls = layer.urls;
  if (layer.annotations) d.annotations = layer.annotations;
  return d;
}

async function uploadIndex(index: ImageIndex, p: PlaceUploads, platforms: readonly string[]): Promise<PreparedManifest> {
  const s = p.settings;
  const kept = index.manifests.map((c) =>
    platformMatches(c.descriptor.platform ?? (c.item?.kind === 'image' ? c.item.platform : undefined), platforms) ? c : undefined,
  );
  if (!kept.some(Boolean)) {
    const have = index.manifests.map((c) => platformText(c.descriptor.platform)).join(', ');
    throw new TarpushError('IMAGE_NOT_FOUND', `no manifest in index ${index.digest} matches --platform ${platforms.join(',')} (it has ${have})`);
  }
  const children = await settleAll(
    kept.map(async (c) => {
      if (!c) return undefined;
      if (!c.item) throw new TarpushError('ARCHIVE_ENTRY_MISSING', `index ${index.digest} lists ${c.descriptor.digest}, which the archive does not carry`);
      const child = await uploadChild(c.item, p);
      return { ...c.descriptor, mediaType: child.mediaType, digest: child.digest, size: child.raw.length };
    }),
  );
  const raw = rewriteIndex(index.rawManifest, { format: s.format === 'keep' ? undefined : s.format, children });
  const mediaType = convertMediaType(index.mediaType, s.format === 'keep' ? undefined : s.format);
  return { raw, mediaType, digest: raw === index.rawManifest ? index.digest : sha256(raw) };
}

/** Placeholder until artifacts are published (issue 8): refuse rather than publish them wrongly. */
const artifactNotYet = (a: Manifestable): TarpushError =>
  new TarpushError('UNSUPPORTED', `manifest ${a.digest} is an artifact; publishing artifacts is not supported yet`);

/** A single image given --platform must match it too. */
export function checkPlatform(item: Manifestable, platforms: readonly string[]): void {
  if (item.kind === 'image' && !platformMatches(item.platform, platforms)) {
    throw new TarpushError('IMAGE_NOT_FOUND', `image ${item.digest} is ${platformText(item.platform)}, not ${platforms.join(',')}`);
  }
}
