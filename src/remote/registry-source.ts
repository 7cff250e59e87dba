import { artifactBlob, makeArtifact } from '../image/artifact.js';
import { TarpushError } from '../errors.js';
import { parseConfig } from '../image/config.js';
import type { Digest } from '../image/digest.js';
import { checkDeclaredMediaType, parseIndex, parseManifest, type ParsedManifest } from '../image/manifest.js';
import { compressionOfMediaType, isIndexMediaType, isManifestMediaType } from '../image/media-types.js';
import type { Artifact, Descriptor, Image, ImageIndex, IndexChild, Layer, MountFrom } from '../image/types.js';
import { checkHasLayers, checkLayerCount, checkSize, isForeignLayerMediaType, isImageManifestConfig, validateImage } from '../image/validate.js';
import type { Repository } from '../registry/index.js';
import { limit } from '../util/limit.js';
import { printable } from '../util/printable.js';
import { registryBlobSource } from './blob-source.js';
import { CONFIG_MAX } from './describe-remote.js';
import { ACCEPT_IMAGES, fetchManifest, notAnImage, type FetchedManifest } from './fetch-manifest.js';
import { isAttestation } from '../image/platform.js';

/**
 * A registry reference as an image source: the same Image / ImageIndex model the archive
 * readers produce, so anything that accepts an archive's images accepts a registry's.
 * Manifests (digest checked against the bytes and the reference) and configs are read
 * here; layers are not: each is a ByteSource over blob GETs (ranged, resumed after a
 * broken body, see blob-source.ts). Every image, index and layer carries `mountFrom`, the
 * registry and repository it lives in, so a sink on the same registry can mount instead
 * of copying bytes.
 *
 * The repository's client must stay open while the layers are read.
 */

/** Where a blob can be mounted from (a cross-repository mount within `registry`). */
export type MountHint = MountFrom;

/** A layer as a registry source reads it: the Layer fields it declares (absent, diffIdDeclared), and always where it lives. */
export type RegistryLayer = Layer & { readonly mountFrom: MountHint };
export type RegistryImage = Image & { readonly layers: readonly RegistryLayer[]; readonly mountFrom: MountHint };
export type RegistryIndex = ImageIndex & { readonly mountFrom: MountHint };
/** A manifest that is not a runnable image (an SBOM, a signature, an attestation): its blobs go byte for byte. */
export type RegistryItem = RegistryImage | RegistryIndex | Artifact;

/** The mount hint of a layer, image or index from a registry source; undefined for other sources. */
export function mountHintOf(x: Layer | Image | ImageIndex): MountHint | undefined {
  return 'mountFrom' in x ? x.mountFrom : undefined;
}

/** Manifests one source may lead to (the top one included), unless told otherwise. */
export const MAX_MANIFESTS = 256;
/** Nested indexes deeper than this are refused (content addressing rules out cycles; this bounds the work). */
const MAX_DEPTH = 8;

export interface RegistrySourceOptions {
  /** Cap on manifests fetched for one source (default MAX_MANIFESTS). */
  maxManifests?: number;
  /** Manifests and configs fetched at once (default 4). */
  concurrency?: number;
}

/**
 * Open `reference` (tag or digest) in `repo` as an image or index. Children of an index are
 * fetched once each (an index listing the same manifest twice gets the same object).
 */
export async function openRegistrySource(repo: Repository, reference: string, opts: RegistrySourceOptions = {}): Promise<RegistryItem> {
  return new RegistryReader(repo, opts).open(reference);
}

class RegistryReader {
  private readonly cache = new Map<Digest, Promise<RegistryItem>>();
  private fetched = 0;
  private readonly max: number;
  private readonly run: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly hint: MountHint;

  constructor(
    private readonly repo: Repository,
    opts: RegistrySourceOptions,
  ) {
    this.max = opts.maxManifests ?? MAX_MANIFESTS;
    this.run = limit(opts.concurrency ?? 4);
    this.hint = { registry: repo.registry, repository: repo.repository };
  }

  async open(reference: string): Promise<RegistryItem> {
    const top = await this.fetch(reference);
    const where = `${this.repo.name}${reference.startsWith('sha256:') ? '@' : ':'}${printable(reference)}`;
    if (top.kind === 'other') throw notAnImage(where, printable(top.mediaType));
    const item = this.build(top, undefined, where, 0);
    this.cache.set(top.digest, item);
    return item;
  }

  private async fetch(reference: string, declared?: string): Promise<FetchedManifest> {
    if (++this.fetched > this.max) {
      throw new TarpushError('MANIFEST_INVALID', `${this.repo.name}: the image leads to more than ${this.max} manifests`, { url: this.repo.name });
    }
    const accept = declared && !(ACCEPT_IMAGES as readonly string[]).includes(declared) ? [declared, ...ACCEPT_IMAGES] : ACCEPT_IMAGES;
    return this.run(() => fetchManifest(this.repo, reference, accept));
  }

  private child(d: Descriptor, depth: number): Promise<RegistryItem> {
    let p = this.cache.get(d.digest);
    if (!p) {
      const where = `${this.repo.name}@${d.digest}`;
      p = this.fetch(d.digest, d.mediaType).then((m) => {
        checkSize(d.size, m.raw.length, where);
        return this.build(m, d, where, depth);
      });
      this.cache.set(d.digest, p);
    }
    return p;
  }

  private async build(m: FetchedManifest, d: Descriptor | undefined, where: string, depth: number): Promise<RegistryItem> {
    if (d) checkDeclaredMediaType(m.mediaType, d.mediaType, where);
    if (m.kind === 'index') return this.index(m, where, depth);
    if (m.kind === 'manifest') return this.image(m, d, where);
    throw notAnImage(where, printable(m.mediaType));
  }

  private async index(m: FetchedManifest, where: string, depth: number): Promise<RegistryIndex> {
    if (depth >= MAX_DEPTH) throw new TarpushError('MANIFEST_INVALID', `${where}: indexes nested more than ${MAX_DEPTH} deep`);
    const parsed = parseIndex(m.raw, where);
    checkDeclaredMediaType(parsed.mediaType, m.mediaType, where);
    const manifests: IndexChild[] = await Promise.all(
      parsed.manifests.map(async (descriptor, i) => {
        if (!isIndexMediaType(descriptor.mediaType) && !isManifestMediaType(descriptor.mediaType)) {
          throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where} manifests[${i}]: ${descriptor.digest} has media type ${JSON.stringify(printable(descriptor.mediaType))}, not a manifest or index`);
        }
        return { descriptor, item: await this.child(descriptor, depth + 1) };
      }),
    );
    return { kind: 'index', mediaType: m.mediaType, rawManifest: m.raw, digest: m.digest, manifests, mountFrom: this.hint };
  }

  private async image(m: FetchedManifest, d: Descriptor | undefined, where: string): Promise<RegistryImage | Artifact> {
    const parsed = parseManifest(m.raw, where);
    checkDeclaredMediaType(parsed.mediaType, m.mediaType, where);
    const artifact = !isImageManifestConfig(m.mediaType, parsed.config.mediaType, where) || parsed.artifactType !== undefined || (d !== undefined && isAttestation(d));
    const rawConfig = await this.run(() => this.repo.getBlobBytes(parsed.config.digest, CONFIG_MAX));
    checkSize(parsed.config.size, rawConfig.length, `${where} config ${parsed.config.digest}`);
    if (artifact) return this.artifact(m, parsed, rawConfig, where);
    const config = parseConfig(rawConfig, `${where} config ${parsed.config.digest}`);
    checkHasLayers(parsed.layers.length, where);
    checkLayerCount(parsed.layers.length, config.diffIds.length, where);
    const layers = parsed.layers.map((l, j): RegistryLayer => {
      const compression = compressionOfMediaType(l.mediaType);
      if (!compression) {
        throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where}: layers[${j}] ${l.digest} has media type ${JSON.stringify(printable(l.mediaType))}, not a layer type tarpush knows`);
      }
      const layer: { -readonly [K in keyof RegistryLayer]: RegistryLayer[K] } = {
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
        compression,
        diffId: config.diffIds[j]!,
        source: registryBlobSource(this.repo, l.digest, l.size),
        mountFrom: this.hint,
      };
      // Foreign layers live at their URLs; registries usually do not hold them, and copies
      // leave them out (publish keeps the descriptor of a layer declared foreign, as for archives).
      if (isForeignLayerMediaType(l.mediaType)) {
        layer.foreign = true;
        if (l.urls?.length) layer.absent = true;
      }
      if (l.urls?.length) layer.urls = l.urls;
      if (l.annotations && Object.keys(l.annotations).length > 0) layer.annotations = l.annotations;
      return layer;
    });
    const platform = d?.platform ?? config.platform;
    const image: RegistryImage = {
      kind: 'image',
      mediaType: m.mediaType,
      rawManifest: m.raw,
      digest: m.digest,
      config: parsed.config,
      rawConfig,
      layers,
      ...(platform ? { platform } : {}),
      ...(parsed.subject ? { subject: parsed.subject } : {}),
      mountFrom: this.hint,
    };
    validateImage(image, where);
    return image;
  }

  /** An artifact, as the layout reader has it: its blobs over blob GETs, its manifest kept byte for byte. */
  private artifact(m: FetchedManifest, parsed: ParsedManifest, rawConfig: Buffer, where: string): Artifact {
    const blobs = parsed.layers.map((l) => artifactBlob(l, registryBlobSource(this.repo, l.digest, l.size)));
    return makeArtifact(parsed, { mediaType: m.mediaType, raw: m.raw, digest: m.digest, rawConfig }, blobs, where);
  }
}
