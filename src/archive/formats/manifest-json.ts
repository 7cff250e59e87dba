import { TarpushError } from '../../errors.js';
import { sha256, type Digest } from '../../image/digest.js';
import { parseConfig } from '../../image/config.js';
import { Shape } from '../../image/json-shape.js';
import { buildManifest, parseDescriptor, parseDigestField } from '../../image/manifest.js';
import { MediaType } from '../../image/media-types.js';
import type { ArchiveImage, Descriptor, Image, Layer } from '../../image/types.js';
import { checkBytesDigest, checkHasLayers, checkLayerCount, checkSize, isForeignLayerMediaType, validateImage } from '../../image/validate.js';
import { readRegion, type ArchiveFiles, type FileRegion } from '../files.js';
import { normaliseEntryName } from '../entry-name.js';
import { absentForeignLayer, layerFromRegion } from '../layer.js';
import { MAX_MANIFESTS } from '../manifest-dag.js';

/**
 * `manifest.json`, the table of contents `docker save` introduced and go-containerregistry's
 * tarball.Write copies: `[{Config, RepoTags, Layers, LayerSources?}]`. Both kaniko and
 * docker-save archives are read through here; they differ only in how entries are named.
 */

export const MANIFEST_JSON = 'manifest.json';
/** JSON documents are small; anything bigger than this is not a real manifest.json. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface ManifestJsonEntry {
  config: string;
  repoTags: string[];
  layers: string[];
  /** go-containerregistry's record of foreign layers: diff_id → descriptor to use verbatim. */
  layerSources: Map<Digest, Descriptor>;
}

export async function readManifestJson(files: ArchiveFiles): Promise<ManifestJsonEntry[]> {
  const region = await files.require(MANIFEST_JSON, 'image list');
  const raw = await readRegion(region, MAX_MANIFEST_BYTES, MANIFEST_JSON);
  const s = new Shape('MANIFEST_INVALID', region.location);
  const list = s.array(s.parse(raw, MANIFEST_JSON), '');
  // A well-formed list of nothing: the archive holds no image (not a malformed one).
  if (list.length === 0) throw new TarpushError('ARCHIVE_EMPTY', `${region.location} lists no images`, { file: files.label, entry: MANIFEST_JSON });
  if (list.length > MAX_MANIFESTS) {
    throw new TarpushError('ARCHIVE_TOO_LARGE', `${region.location} lists ${list.length} images, more than ${MAX_MANIFESTS} (limit)`, {
      file: files.label,
      entry: MANIFEST_JSON,
    });
  }
  return list.map((item, i) => {
    const o = s.object(item, `[${i}]`);
    const layerSources = new Map<Digest, Descriptor>();
    if (o.LayerSources !== undefined && o.LayerSources !== null) {
      const ls = s.object(o.LayerSources, `[${i}].LayerSources`);
      for (const [k, v] of Object.entries(ls)) {
        const key = parseDigestField(s, k, `[${i}].LayerSources key`);
        layerSources.set(key, parseDescriptor(s, v, `[${i}].LayerSources[${k}]`));
      }
    }
    return {
      config: entryName(s.string(o.Config, `[${i}].Config`)),
      // Untagged images are saved with `"RepoTags": null`.
      repoTags: o.RepoTags === null || o.RepoTags === undefined ? [] : s.stringArray(o.RepoTags, `[${i}].RepoTags`),
      layers: s.array(o.Layers, `[${i}].Layers`).map((l, j) => entryName(s.string(l, `[${i}].Layers[${j}]`))),
      layerSources,
    };
  });
}

/**
 * A name as manifest.json writes it, in the form entries are matched by (`./blobs/…` and
 * `blobs//…` are `blobs/…`; oras and `tar -C dir .` write `./` names). Unsafe names are
 * kept as written: looking them up refuses them with the archive's own error.
 */
const entryName = (name: string): string => normaliseEntryName(name) || name;

/**
 * Entry names that are a blob's digest: go-containerregistry's `sha256:<hex>` config and
 * `<hex>.tar.gz` layers, docker save's `<hex>.json` config, Docker 25's `blobs/sha256/<hex>`.
 * These writers name blobs by the sha256 of the stored bytes.
 */
const DIGEST_NAMED_CONFIG = /^(?:sha256:|blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/;
/**
 * docker save before 25 names the config `<image id>.json`; the id was the config's digest
 * when saved, but tools edit saved archives (go-containerregistry's own test data does), and
 * go-containerregistry and containers/image take the digest from the bytes. So do we, for
 * this naming only: `sha256:<hex>` (go-containerregistry's writer) and `blobs/sha256/<hex>`
 * (a content-addressed layout) are digests by construction, and a mismatch there is damage.
 */
const LEGACY_CONFIG_NAME = /^[a-f0-9]{64}\.json$/;
const DIGEST_NAMED_LAYER = /^(?:([a-f0-9]{64})\.tar\.gz|blobs\/sha256\/([a-f0-9]{64}))$/;

export function digestFromConfigName(name: string): Digest | undefined {
  const m = DIGEST_NAMED_CONFIG.exec(name);
  return m ? `sha256:${m[1]}` : undefined;
}

export function digestFromLayerName(name: string): Digest | undefined {
  const m = DIGEST_NAMED_LAYER.exec(name);
  return m ? `sha256:${m[1] ?? m[2]}` : undefined;
}

/**
 * Build the image one manifest.json entry describes, as a Docker v2 schema 2 manifest —
 * byte for byte what go-containerregistry's tarball image computes for a kaniko tarball.
 *
 * Layer digests: a LayerSources descriptor is used verbatim; a name that is a digest
 * gives it (checked when the layer is uploaded); uncompressed bytes have the diff_id as
 * digest; only a compressed layer under another name is hashed here (one read of it).
 */
/**
 * What entries of one manifest.json share: a layer named by several entries is read (and,
 * when nothing states its digest, hashed) once; an image several entries describe (the same
 * config and layers under other tags) is one object, as the OCI reader guarantees.
 */
export interface EntryMemo {
  readonly configs: Map<string, Promise<{ region: FileRegion; raw: Buffer }>>;
  readonly layers: Map<string, Promise<Layer>>;
  readonly images: Map<string, Image>;
}

export const newEntryMemo = (): EntryMemo => ({ configs: new Map(), layers: new Map(), images: new Map() });

export async function imageFromEntry(files: ArchiveFiles, entry: ManifestJsonEntry, i: number, memo: EntryMemo = newEntryMemo()): Promise<ArchiveImage> {
  const where = `${files.label}!${MANIFEST_JSON}[${i}]`;
  let configRead = memo.configs.get(entry.config);
  if (!configRead) {
    configRead = (async () => {
      const region = await files.require(entry.config, `config of ${MANIFEST_JSON}[${i}]`);
      return { region, raw: await readRegion(region, MAX_CONFIG_BYTES, 'config') };
    })();
    memo.configs.set(entry.config, configRead);
  }
  const { region: configRegion, raw: rawConfig } = await configRead;
  const configDigest = sha256(rawConfig);
  const named = digestFromConfigName(entry.config);
  if (named && named !== configDigest && LEGACY_CONFIG_NAME.test(entry.config)) {
    files.note?.(`${configRegion.location}: the config is not named by its digest; its digest is its content's, ${configDigest}`);
  } else if (named) checkBytesDigest(rawConfig, named, configRegion.location);
  const config = parseConfig(rawConfig, configRegion.location);
  checkHasLayers(entry.layers.length, where);
  checkLayerCount(entry.layers.length, config.diffIds.length, where);

  const layers: Layer[] = [];
  for (const [j, name] of entry.layers.entries()) {
    const diffId = config.diffIds[j]!;
    const foreign = layerSource(entry, diffId);
    const region = await files.find(name);
    if (!region && foreign && isForeignLayerMediaType(foreign.mediaType) && foreign.urls?.length) {
      // A sparse tarball (go-containerregistry writes them): the foreign layer is listed, not carried.
      layers.push(absentForeignLayer(foreign, diffId, where));
      continue;
    }
    if (!region) await files.require(name, `layer ${j} of ${MANIFEST_JSON}[${i}]`);
    if (foreign) checkSize(foreign.size, region!.size, region!.location);
    const key = `${region!.location}\0${diffId}\0${foreign ? JSON.stringify(foreign) : ''}`;
    let layer = memo.layers.get(key);
    if (!layer) {
      if (foreign) {
        const input = { region: region!, digest: foreign.digest, mediaType: foreign.mediaType, format: 'docker' as const, diffId };
        layer = layerFromRegion({ ...input, ...(foreign.urls ? { urls: foreign.urls } : {}), ...(foreign.annotations ? { annotations: foreign.annotations } : {}) });
      } else {
        const digest = digestFromLayerName(name);
        layer = layerFromRegion({ region: region!, format: 'docker', diffId, ...(digest ? { digest } : {}) });
      }
      memo.layers.set(key, layer);
    }
    layers.push(await layer);
  }

  const configDescriptor: Descriptor = { mediaType: MediaType.dockerConfig, size: rawConfig.length, digest: configDigest };
  const layerDescriptors = entry.layers.map((_, j): Descriptor => {
    const foreign = layerSource(entry, config.diffIds[j]!);
    if (foreign) return foreign;
    const l = layers[j]!;
    return { mediaType: l.mediaType, size: l.size, digest: l.digest };
  });
  const rawManifest = buildManifest({ format: 'docker', config: configDescriptor, layers: layerDescriptors });
  const known = memo.images.get(sha256(rawManifest));
  if (known) return { index: i, repoTags: entry.repoTags, root: known };
  const image: Image = {
    kind: 'image',
    mediaType: MediaType.dockerManifest,
    rawManifest,
    digest: sha256(rawManifest),
    config: configDescriptor,
    rawConfig,
    layers,
    ...(config.platform ? { platform: config.platform } : {}),
  };
  validateImage(image, where);
  memo.images.set(image.digest, image);
  return { index: i, repoTags: entry.repoTags, root: image };
}

/**
 * The LayerSources descriptor to use verbatim for a layer, following go-containerregistry
 * (issue 1870): from Docker 25 on, `docker save` lists every layer there, uncompressed, with
 * `…rootfs.diff.tar` / `…layer.v1.tar` media types. Such an entry says nothing a layer's
 * bytes do not, so it is ignored and the layer is read as any other; entries of other media
 * types (foreign layers, compressed layers) are used as written.
 */
function layerSource(entry: ManifestJsonEntry, diffId: Digest): Descriptor | undefined {
  const d = entry.layerSources.get(diffId);
  return d && d.mediaType !== MediaType.dockerLayer && d.mediaType !== MediaType.ociLayer ? d : undefined;
}

export async function imagesFromManifestJson(files: ArchiveFiles, entries: ManifestJsonEntry[]): Promise<ArchiveImage[]> {
  const memo = newEntryMemo();
  const out: ArchiveImage[] = [];
  for (const [i, e] of entries.entries()) out.push(await imageFromEntry(files, e, i, memo));
  return out;
}
