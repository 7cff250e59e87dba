import { TarpushError } from '../../errors.js';
import { digestHex, type Digest } from '../../image/digest.js';
import { isImageConfigMediaType, parseConfig } from '../../image/config.js';
import { Shape } from '../../image/json-shape.js';
import { checkDeclaredMediaType, parseIndex, parseManifest } from '../../image/manifest.js';
import { isIndexMediaType, isManifestMediaType } from '../../image/media-types.js';
import type { ArchiveImage, Descriptor, Image, ImageIndex, IndexChild } from '../../image/types.js';
import {
  checkBytesDigest,
  checkHasLayers,
  checkLayerCount,
  checkSize,
  isForeignLayerMediaType,
  isImageManifestConfig,
  validateImage,
} from '../../image/validate.js';
import { platformText } from '../../image/platform.js';
import { printable } from '../../util/printable.js';
import { readRegion, type ArchiveFiles } from '../files.js';
import { absentForeignLayer, layerFromRegion, type ArchiveLayer } from '../layer.js';
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
  root: Image | ImageIndex;
  refName?: string;
}

export const blobName = (d: Digest): string => `blobs/sha256/${digestHex(d)}`;

/** Buildkit stores attestations as image manifests whose layers are in-toto JSON, marked by this annotation. */
const isAttestation = (d: Descriptor): boolean => d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';

class LayoutReader {
  readonly dag: ManifestDag<Image | ImageIndex>;
  // Manifests may share configs and layers (thousands of them, in a hostile archive): read each once.
  private readonly configs = new Map<string, Promise<{ raw: Buffer; location: string }>>();
  private readonly layers = new Map<string, Promise<ArchiveLayer>>();
  constructor(private readonly files: ArchiveFiles) {
    this.dag = new ManifestDag(files.label, (d, child) => (isIndexMediaType(d.mediaType) ? this.loadIndex(d, child) : this.loadImage(d)));
  }

  /** A small JSON blob: present, of the descriptor's size, under `cap`, with the descriptor's digest. */
  async readBlob(d: Descriptor, cap: number, what: string): Promise<{ raw: Buffer; location: string }> {
    const region = await this.files.require(blobName(d.digest), `${what} ${d.digest}`);
    checkSize(d.size, region.size, region.location);
    const raw = await readRegion(region, cap, what);
    checkBytesDigest(raw, d.digest, region.location);
    return { raw, location: region.location };
  }

  private async loadIndex(d: Descriptor, child: (c: Descriptor) => Promise<Image | ImageIndex>): Promise<ImageIndex> {
    const { raw, location } = await this.readBlob(d, MAX_MANIFEST_BYTES, 'index');
    const idx = parseIndex(raw, location);
    checkDeclaredMediaType(idx.mediaType, d.mediaType, location);
    if (idx.manifests.length === 0) throw new TarpushError('MANIFEST_INVALID', `${location}: index lists no manifests`, { entry: location });
    const manifests: IndexChild[] = [];
    for (const [i, c] of idx.manifests.entries()) {
      checkKnownManifestType(c, `${location} manifests[${i}]`);
      if (!(await this.files.find(blobName(c.digest)))) {
        // Typical of `docker save` with the containerd store: the whole index is saved but
        // only the local platform's blobs. Pushing it would publish dangling references.
        const p = c.platform ? ` (platform ${printable(platformText(c.platform))})` : '';
        throw new TarpushError(
          'ARCHIVE_ENTRY_MISSING',
          `${location}: index lists manifest ${c.digest}${p}, which is not in ${this.files.label} (a partial multi-platform save?)`,
          { file: this.files.label, entry: blobName(c.digest) },
        );
      }
      // The same child listed twice is the same object twice (one model per digest).
      manifests.push({ descriptor: c, item: await child(c) });
    }
    return { kind: 'index', mediaType: d.mediaType, rawManifest: raw, digest: d.digest, manifests };
  }

  private async loadImage(d: Descriptor): Promise<Image> {
    const { raw, location } = await this.readBlob(d, MAX_MANIFEST_BYTES, 'manifest');
    const m = parseManifest(raw, location);
    checkDeclaredMediaType(m.mediaType, d.mediaType, location);
    const configKey = `${m.config.digest} ${m.config.size}`;
    let configRead = this.configs.get(configKey);
    if (!configRead) this.configs.set(configKey, (configRead = this.readBlob(m.config, MAX_CONFIG_BYTES, 'config')));
    const { raw: rawConfig, location: configLocation } = await configRead;
    const artifact =
      !isImageManifestConfig(d.mediaType, m.config.mediaType, location) || m.artifactType !== undefined || isAttestation(d);
    const config = isImageConfigMediaType(m.config.mediaType) ? parseConfig(rawConfig, configLocation) : undefined;
    if (!artifact) {
      checkHasLayers(m.layers.length, location);
      checkLayerCount(m.layers.length, config!.diffIds.length, location);
    }

    const layers: ArchiveLayer[] = [];
    for (const [j, ld] of m.layers.entries()) {
      const diffId = artifact ? ld.digest : config!.diffIds[j]!;
      const key = JSON.stringify([ld, diffId, artifact]);
      let layer = this.layers.get(key);
      if (!layer) this.layers.set(key, (layer = this.loadLayer(ld, diffId, artifact, `layer ${j} of ${location}`, location)));
      layers.push(await layer);
    }
    const platform = d.platform ?? config?.platform;
    const image: Image = {
      kind: 'image',
      mediaType: d.mediaType,
      rawManifest: raw,
      digest: d.digest,
      config: m.config,
      rawConfig,
      layers,
      ...(platform ? { platform } : {}),
    };
    validateImage(image, location, { artifact });
    return image;
  }

  private async loadLayer(ld: Descriptor, diffId: Digest, artifact: boolean, what: string, where: string): Promise<ArchiveLayer> {
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
      ...(artifact ? { diffIdDeclared: false } : {}),
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

/** Read every entry point of index.json, in order. */
export async function readOciLayout(files: ArchiveFiles): Promise<OciLayoutEntry[]> {
  await checkLayoutVersion(files);
  const region = await files.require(INDEX_JSON, 'OCI index');
  const idx = parseIndex(await readRegion(region, MAX_MANIFEST_BYTES, INDEX_JSON), region.location);
  if (idx.manifests.length === 0) {
    throw new TarpushError('ARCHIVE_EMPTY', `${region.location} lists no images`, { file: files.label, entry: INDEX_JSON });
  }
  const reader = new LayoutReader(files);
  const out: OciLayoutEntry[] = [];
  for (const [i, d] of idx.manifests.entries()) {
    checkKnownManifestType(d, `${region.location} manifests[${i}]`);
    const refName = d.annotations?.[REF_NAME];
    out.push({ index: i, descriptor: d, root: await reader.dag.load(d), ...(refName !== undefined ? { refName } : {}) });
  }
  return out;
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
