import { artifactBlob, makeArtifact } from '../../image/artifact.js';
import { TarpushError } from '../../errors.js';
import { digestHex, type Digest } from '../../image/digest.js';
import { parseConfig } from '../../image/config.js';
import { Shape } from '../../image/json-shape.js';
import { checkDeclaredMediaType, parseIndex, parseManifest, type ParsedManifest } from '../../image/manifest.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../../image/media-types.js';
import type { ArchiveImage, Artifact, ArtifactBlob, Descriptor, Image, ImageIndex, IndexChild, Layer, Manifestable } from '../../image/types.js';
import {
  checkBytesDigest,
  checkHasLayers,
  checkLayerCount,
  checkSize,
  isForeignLayerMediaType,
  isImageManifestConfig,
  isLayerMediaType,
  validateImage,
} from '../../image/validate.js';
import { isAttestation } from '../../image/platform.js';
import { printable } from '../../util/printable.js';
import { readRegion, regionSource, type ArchiveFiles } from '../files.js';
import { absentForeignLayer, layerFromRegion } from '../layer.js';
import { ManifestDag } from '../manifest-dag.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from './manifest-json.js';

/**
 * OCI image layout (image-spec `image-layout.md`), in a tar (`oci-archive`) or a directory:
 * `oci-layout` (version), `index.json` (the entry points), `blobs/sha256/<hex>`. Every
 * manifest, index and config is read (they are small and capped), its size checked against
 * the blob and its sha256 against the descriptor. Layers are only sized and sniffed.
 * Docker 25's `docker save` output is such a layout too (see docker-save-oci.ts).
 * Manifests are built once per digest (manifest-dag.ts): entry points and indexes that
 * share children share the same objects, and the archive's manifests are bounded in number
 * and nesting.
 */

export const OCI_LAYOUT = 'oci-layout';
export const INDEX_JSON = 'index.json';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface OciLayoutEntry {
  /** Position in index.json. */
  index: number;
  /** The descriptor index.json lists (annotations carry names). */
  descriptor: Descriptor;
  root: Manifestable;
  refName?: string;
}

export const blobName = (d: Digest): string => `blobs/sha256/${digestHex(d)}`;

const isKnownManifestType = (m: string): boolean => isIndexMediaType(m) || isManifestMediaType(m);

/** The document's own `mediaType` field, when it is a JSON object that has a string one (shape errors are left to the parsers). */
function ownMediaType(raw: Buffer): string | undefined {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { mediaType?: unknown }).mediaType : undefined;
    return typeof m === 'string' && m !== '' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a manifest is an artifact rather than a runnable image: its config is not an image
 * config (the empty config, or any other type), it sets `artifactType`, it is a BuildKit
 * attestation manifest, or none of its layers is a filesystem layer (cosign signatures:
 * image config, `…cosign.simplesigning…` layers). A manifest that mixes filesystem layers
 * with unknown ones stays an image, and is refused for its unknown layer type.
 */
function isArtifactManifest(d: Descriptor, manifestMediaType: string, m: ParsedManifest, where: string): boolean {
  if (!isImageManifestConfig(manifestMediaType, m.config.mediaType, where)) return true;
  if (m.artifactType !== undefined || isAttestation(d)) return true;
  return m.layers.length > 0 && !m.layers.some((l) => isLayerMediaType(l.mediaType));
}

class LayoutReader {
  readonly dag: ManifestDag<Manifestable>;
  // Manifests may share configs and layers (thousands of them, in a hostile archive): read each once.
  private readonly configs = new Map<string, Promise<{ raw: Buffer; location: string }>>();
  private readonly layers = new Map<string, Promise<Layer>>();
  constructor(private readonly files: ArchiveFiles) {
    this.dag = new ManifestDag(files.label, (d, child) => this.loadItem(d, child));
  }

  /** A small JSON blob: present, of the descriptor's size, under `cap`, with the descriptor's digest. */
  async readBlob(d: Descriptor, cap: number, what: string): Promise<{ raw: Buffer; location: string }> {
    const region = await this.files.require(blobName(d.digest), `${what} ${d.digest}`);
    checkSize(d.size, region.size, region.location);
    const raw = await readRegion(region, cap, what);
    checkBytesDigest(raw, d.digest, region.location);
    return { raw, location: region.location };
  }

  private async loadItem(d: Descriptor, child: (c: Descriptor) => Promise<Manifestable>): Promise<Manifestable> {
    const what = isIndexMediaType(d.mediaType) ? 'index' : 'manifest';
    const { raw, location } = await this.readBlob(d, MAX_MANIFEST_BYTES, what);
    const mediaType = this.mediaTypeOf(d, raw, location);
    return isIndexMediaType(mediaType) ? this.loadIndex(d, mediaType, raw, location, child) : this.loadManifest(d, mediaType, raw, location);
  }

  /**
   * The media type a manifest is read (and published) as: its own `mediaType` field when it
   * names a manifest or index type, else the descriptor's. A descriptor that disagrees with
   * the document is noted once (go-containerregistry's own test layout lists a Docker
   * manifest as OCI); the document's claim is what registries check on upload. A document
   * that claims an unknown type is refused, as is a descriptor of an unknown type with a
   * document that does not say what it is.
   */
  private mediaTypeOf(d: Descriptor, raw: Buffer, location: string): string {
    const own = ownMediaType(raw);
    if (own !== undefined && isKnownManifestType(own)) {
      if (own !== d.mediaType) {
        this.files.note?.(
          `${location}: the descriptor says media type ${printable(JSON.stringify(d.mediaType))}, the manifest says ${printable(JSON.stringify(own))}; reading it as the manifest says`,
        );
      }
      return own;
    }
    if (!isKnownManifestType(d.mediaType)) {
      throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${location}: ${d.digest} has media type ${printable(JSON.stringify(own ?? d.mediaType))}, not a manifest or index`, {
        entry: location,
      });
    }
    checkDeclaredMediaType(own, d.mediaType, location);
    // Docker's schema 2 types require the document to carry its mediaType (registries refuse
    // one without): a document with none that a descriptor calls Docker is read as OCI.
    if (own === undefined && (d.mediaType === MediaType.dockerManifestList || d.mediaType === MediaType.dockerManifest)) {
      const oci = d.mediaType === MediaType.dockerManifestList ? MediaType.ociIndex : MediaType.ociManifest;
      this.files.note?.(`${location}: the descriptor says ${printable(JSON.stringify(d.mediaType))}, but the document names no mediaType, which Docker's types require; reading it as ${oci}`);
      return oci;
    }
    return d.mediaType;
  }

  private async loadIndex(
    d: Descriptor,
    mediaType: string,
    raw: Buffer,
    location: string,
    child: (c: Descriptor) => Promise<Manifestable>,
  ): Promise<ImageIndex> {
    const idx = parseIndex(raw, location);
    if (idx.manifests.length === 0) throw new TarpushError('MANIFEST_INVALID', `${location}: index lists no manifests`, { entry: location });
    const manifests: IndexChild[] = [];
    for (const [i, c] of idx.manifests.entries()) {
      if (!(await this.files.find(blobName(c.digest)))) {
        // Not carried: Docker 29's containerd store saves a multi-platform image's whole
        // index (to keep its digest) but only the host platform's blobs; oras writes such
        // layouts too. Reading it is fine; publishers decide what a partial index becomes.
        checkKnownManifestType(c, `${location} manifests[${i}]`);
        manifests.push({ descriptor: c, item: undefined });
        continue;
      }
      // The same child listed twice is the same object twice (one model per digest).
      manifests.push({ descriptor: c, item: await child(c) });
    }
    return { kind: 'index', mediaType, rawManifest: raw, digest: d.digest, manifests };
  }

  private readConfig(m: ParsedManifest): Promise<{ raw: Buffer; location: string }> {
    const configKey = `${m.config.digest} ${m.config.size}`;
    let configRead = this.configs.get(configKey);
    if (!configRead) this.configs.set(configKey, (configRead = this.readBlob(m.config, MAX_CONFIG_BYTES, 'config')));
    return configRead;
  }

  private async loadManifest(d: Descriptor, mediaType: string, raw: Buffer, location: string): Promise<Image | Artifact> {
    const m = parseManifest(raw, location);
    const { raw: rawConfig, location: configLocation } = await this.readConfig(m);
    if (isArtifactManifest(d, mediaType, m, location)) return this.artifact(d, mediaType, m, raw, rawConfig, location);

    const config = parseConfig(rawConfig, configLocation);
    checkHasLayers(m.layers.length, location);
    checkLayerCount(m.layers.length, config.diffIds.length, location);
    const layers: Layer[] = [];
    for (const [j, ld] of m.layers.entries()) {
      const diffId = config.diffIds[j]!;
      const key = JSON.stringify([ld, diffId]);
      let layer = this.layers.get(key);
      if (!layer) this.layers.set(key, (layer = this.loadLayer(ld, diffId, `layer ${j} of ${location}`, location)));
      layers.push(await layer);
    }
    const platform = d.platform ?? config.platform;
    const image: Image = {
      kind: 'image',
      mediaType,
      rawManifest: raw,
      digest: d.digest,
      config: m.config,
      rawConfig,
      layers,
      ...(platform ? { platform } : {}),
      ...(m.subject ? { subject: m.subject } : {}),
    };
    validateImage(image, location);
    return image;
  }

  /** An artifact: every blob present with its descriptor's size (digests are checked when it is read). */
  private async artifact(d: Descriptor, mediaType: string, m: ParsedManifest, raw: Buffer, rawConfig: Buffer, location: string): Promise<Artifact> {
    const blobs: ArtifactBlob[] = [];
    for (const [j, ld] of m.layers.entries()) {
      const region = await this.files.require(blobName(ld.digest), `blob ${j} of ${location}`);
      checkSize(ld.size, region.size, region.location);
      blobs.push(artifactBlob(ld, regionSource(region)));
    }
    return makeArtifact(m, { mediaType, raw, digest: d.digest, rawConfig }, blobs, location);
  }

  private async loadLayer(ld: Descriptor, diffId: Digest, what: string, where: string): Promise<Layer> {
    const region = await this.files.find(blobName(ld.digest));
    if (!region) {
      // Foreign layers may be left out of a layout: their descriptor says where they live.
      if (isForeignLayerMediaType(ld.mediaType) && ld.urls?.length) return absentForeignLayer(ld, diffId, where);
      await this.files.require(blobName(ld.digest), what);
    }
    checkSize(ld.size, region!.size, region!.location);
    return layerFromRegion({
      region: region!,
      digest: ld.digest,
      mediaType: ld.mediaType,
      format: 'oci',
      diffId,
      ...(ld.urls ? { urls: ld.urls } : {}),
      ...(ld.annotations ? { annotations: ld.annotations } : {}),
    });
  }
}

function checkKnownManifestType(d: Descriptor, where: string): void {
  if (!isIndexMediaType(d.mediaType) && !isManifestMediaType(d.mediaType)) {
    throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where}: ${d.digest} has media type ${printable(JSON.stringify(d.mediaType))}, not a manifest or index`, {
      entry: where,
    });
  }
}

/** `oci-layout` must declare image layout version 1.x. */
async function checkLayoutVersion(files: ArchiveFiles): Promise<void> {
  const region = await files.require(OCI_LAYOUT, 'OCI layout marker');
  const s = new Shape('LAYOUT_INVALID', region.location);
  const o = s.object(s.parse(await readRegion(region, 64 * 1024, OCI_LAYOUT), OCI_LAYOUT), '');
  const version = s.string(o.imageLayoutVersion, 'imageLayoutVersion');
  if (!/^1\.\d+\.\d+$/.test(version)) s.fail('imageLayoutVersion', `is ${printable(JSON.stringify(version))}; only 1.x layouts are supported`);
}

export interface ReadLayoutOptions {
  /**
   * Docker 25.0 writes `"manifests": null` for `docker save <image id>` (an untagged image)
   * and lists the image in manifest.json only: with this set, such an index.json yields no
   * entry points instead of an error (the caller reads manifest.json).
   */
  nullManifestsAreEmpty?: boolean;
}

/** Read every entry point of index.json, in order. */
export async function readOciLayout(files: ArchiveFiles, opts: ReadLayoutOptions = {}): Promise<OciLayoutEntry[]> {
  await checkLayoutVersion(files);
  const region = await files.require(INDEX_JSON, 'OCI index');
  const raw = await readRegion(region, MAX_MANIFEST_BYTES, INDEX_JSON);
  if (opts.nullManifestsAreEmpty && hasNullManifests(raw)) return [];
  const idx = parseIndex(raw, region.location);
  if (idx.manifests.length === 0) {
    if (opts.nullManifestsAreEmpty) return [];
    throw new TarpushError('ARCHIVE_EMPTY', `${region.location} lists no images`, { file: files.label, entry: INDEX_JSON });
  }
  const reader = new LayoutReader(files);
  const out: OciLayoutEntry[] = [];
  for (const [i, d] of idx.manifests.entries()) {
    const refName = d.annotations?.[REF_NAME];
    out.push({ index: i, descriptor: d, root: await reader.dag.load(d), ...(refName !== undefined ? { refName } : {}) });
  }
  return out;
}

function hasNullManifests(raw: Buffer): boolean {
  try {
    const v = JSON.parse(raw.toString('utf8')) as { manifests?: unknown } | null;
    return v !== null && typeof v === 'object' && v.manifests === null;
  } catch {
    return false;
  }
}

/** OCI layout entry points as archive images (no Docker RepoTags: names come from ref.name annotations). */
export async function readOciArchive(files: ArchiveFiles): Promise<ArchiveImage[]> {
  return (await readOciLayout(files)).map((e) => ({
    index: e.index,
    repoTags: [],
    root: e.root,
    ...(e.refName !== undefined ? { refName: e.refName } : {}),
  }));
}
