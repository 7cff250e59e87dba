import { TarpushError } from '../errors.js';
import { sha256, type Digest } from '../image/digest.js';
import { formatOfManifestMediaType, layerMediaType, type Compression, type ManifestFormat } from '../image/media-types.js';
import { bufferSource } from '../image/sources.js';
import type { ByteSource, Descriptor, Image, ImageIndex, Layer, Manifestable, Platform } from '../image/types.js';
import { platformText } from '../image/platform-text.js';
import { settleAll } from '../util/settle-all.js';
import { verifyLayer, verifyingSource, type VerifyOptions } from '../image/verify.js';
import type { BlobTransfers, StoredBlob } from './blob-transfers.js';
import type { CompressionOption, FormatOption } from './options.js';
import { convertMediaType, rewriteIndex, rewriteManifest } from './rewrite-manifest.js';

/** A manifest ready to be written: every blob it names is confirmed present in the place. */
export interface PreparedManifest {
  raw: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface PrepareSettings {
  format: FormatOption;
  compression: CompressionOption;
  level: number;
  platforms: readonly string[];
  /** Decompress compressed layers to check their diff_ids (default true). */
  verifyDiffIds: boolean;
}


const platformMatches = (p: Platform | undefined, wanted: readonly string[]): boolean =>
  wanted.length === 0 || wanted.some((w) => w === platformText(p) || (p && !w.split('/')[2] && w === `${p.os}/${p.architecture}`));

/** What compression a layer is published in. `keep` leaves compressed layers alone and gzips plain ones. */
function targetCompression(layer: Layer, option: CompressionOption): Compression {
  if (option === 'keep') return layer.compression === 'none' ? 'gzip' : layer.compression;
  return option;
}

/**
 * Uploads everything a manifest (or index, recursively) needs into one place and returns
 * the manifest bytes to write. Children of an index are written by digest here; tags are
 * written later, by the caller, once every place has every blob.
 */
export async function prepare(item: Manifestable, transfers: BlobTransfers, putChild: (m: PreparedManifest) => Promise<void>, s: PrepareSettings): Promise<PreparedManifest> {
  return item.kind === 'image' ? prepareImage(item, transfers, s) : prepareIndex(item, transfers, putChild, s);
}

async function prepareImage(image: Image, transfers: BlobTransfers, s: PrepareSettings): Promise<PreparedManifest> {
  const format: ManifestFormat = s.format === 'keep' ? formatOfManifestMediaType(image.mediaType) : s.format;
  const config = transfers.ensure('config', image.config.digest, bufferSource(image.rawConfig, `${image.config.digest} (config)`));
  const layers = image.layers.map((layer) => publishLayer(layer, format, transfers, s));
  await settleAll<unknown>([config, ...layers]);
  const descriptors = await Promise.all(layers); // all fulfilled by now
  const raw = rewriteManifest(image.rawManifest, { format: s.format === 'keep' ? undefined : format, config: image.config, layers: descriptors });
  const mediaType = convertMediaType(image.mediaType, s.format === 'keep' ? undefined : format);
  return { raw, mediaType, digest: raw === image.rawManifest ? image.digest : sha256(raw) };
}

async function publishLayer(layer: Layer, format: ManifestFormat, transfers: BlobTransfers, s: PrepareSettings): Promise<Descriptor> {
  const target = targetCompression(layer, s.compression);
  const check = checkedSource(layer, { diffIds: s.verifyDiffIds });
  let stored: StoredBlob;
  let mediaType = layer.mediaType;
  if (target === layer.compression) {
    stored = await transfers.ensure('layer', layer.digest, check.source);
  } else {
    stored = await transfers.ensureTranscoded(layer, () => check.source.open(), target, s.level);
    mediaType = layerMediaType(format, target);
  }
  // Bytes that went out must have matched the archive's digests before any manifest names them.
  if (stored.action === 'uploaded') await check.settle();
  const d: Descriptor = { mediaType, digest: stored.digest, size: stored.size };
  if (layer.urls) d.urls = layer.urls;
  if (layer.annotations) d.annotations = layer.annotations;
  return d;
}

async function prepareIndex(index: ImageIndex, transfers: BlobTransfers, putChild: (m: PreparedManifest) => Promise<void>, s: PrepareSettings): Promise<PreparedManifest> {
  const kept = index.manifests.map((c) =>
    platformMatches(c.descriptor.platform ?? (c.item.kind === 'image' ? c.item.platform : undefined), s.platforms) ? c : undefined,
  );
  if (!kept.some(Boolean)) {
    const have = index.manifests.map((c) => platformText(c.descriptor.platform)).join(', ');
    throw new TarpushError('IMAGE_NOT_FOUND', `no manifest in index ${index.digest} matches --platform ${s.platforms.join(',')} (it has ${have})`);
  }
  const children = await settleAll(
    kept.map(async (c) => {
      if (!c) return undefined;
      const child = await prepare(c.item, transfers, putChild, { ...s, platforms: [] });
      await putChild(child);
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

/**
 * The layer's source, verified as it streams. `settle()` waits for the check of a full read
 * that an upload made; when an upload only ever read parts (it resumed after a failure),
 * the layer is read once more to check it, so nothing is tagged unverified.
 */
interface CheckedSource {
  source: ByteSource;
  settle(): Promise<void>;
}

/**
 * One check per layer and setting, shared by every destination of a publish: once a full
 * read has been verified, later uploads of the same layer (other registries, other
 * repositories) read it unchecked instead of decompressing it again.
 */
const checks = new WeakMap<Layer, Map<boolean, CheckedSource>>();

function checkedSource(layer: Layer, opts: VerifyOptions): CheckedSource {
  let bySetting = checks.get(layer);
  if (!bySetting) checks.set(layer, (bySetting = new Map()));
  const key = opts.diffIds !== false;
  let checked = bySetting.get(key);
  if (!checked) bySetting.set(key, (checked = newCheckedSource(layer, opts)));
  return checked;
}

function newCheckedSource(layer: Layer, opts: VerifyOptions): CheckedSource {
  const v = verifyingSource(layer, opts);
  let fullReadEnded = false;
  const source: ByteSource = {
    size: v.source.size,
    location: v.source.location,
    open(start = 0, end = v.source.size) {
      const stream = v.source.open(start, end);
      if (start === 0 && end === v.source.size) stream.once('end', () => (fullReadEnded = true));
      return stream;
    },
  };
  return { source, settle: () => (fullReadEnded ? v.verified : verifyLayer(layer, opts)) };
}
