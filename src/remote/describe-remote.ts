import { TarpushError } from '../errors.js';
import { isImageConfigMediaType, parseConfig } from '../image/config.js';
import type { ImageDescription, LayerDescription } from '../image/describe.js';
import type { Digest } from '../image/digest.js';
import { parseManifest } from '../image/manifest.js';
import { compressionOfMediaType } from '../image/media-types.js';
import type { Descriptor, Platform } from '../image/types.js';
import { formatReference, repositoryName, type Reference } from '../reference/index.js';
import type { Repository } from '../registry/index.js';
import { limit } from '../util/limit.js';
import { fetchManifest, notAnImage, type FetchedManifest } from './fetch-manifest.js';
import { imageEntries } from './index-entries.js';
import { manifestReference, toReference, withClient, type RemoteOptions } from './open.js';
import { parsePlatform, platformMatches, platformText, selectPlatform, type PlatformSpec } from '../image/platform.js';

/**
 * Describe an image in a registry the way `inspect` describes an archive: one entry per
 * platform image with its manifest, config and layers (diff_ids from the config). Only
 * manifests and configs are read; no layer is downloaded.
 */

/** Largest config we read (configs with long histories reach a few hundred KiB). */
export const CONFIG_MAX = 16 << 20;

export interface DescribeRemoteOptions extends RemoteOptions {
  /** Only the image for this platform (`os/arch[/variant]`). */
  platform?: PlatformSpec | string;
}

/**
 * One description per platform image (index order) or one for a single image; `repoTags`
 * holds the reference's own `registry/repository:tag` when it names a tag.
 */
export async function describeRemote(ref: Reference | string, opts: DescribeRemoteOptions = {}): Promise<ImageDescription[]> {
  const r = toReference(ref);
  const wanted = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const where = formatReference(r);
  const repoTags = r.tag !== undefined ? [`${repositoryName(r)}:${r.tag}`] : [];
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    const top = await fetchManifest(repo, manifestReference(r));
    if (top.kind === 'manifest') {
      const d = await describeManifest(repo, top, { repoTags, where });
      if (wanted && !platformMatches(d.platform, wanted)) {
        throw new TarpushError('IMAGE_NOT_FOUND', `${where} is a single ${platformText(d.platform)} image, not ${platformText(wanted)}`);
      }
      return [d];
    }
    if (top.kind !== 'index') throw notAnImage(where, top.mediaType);
    let entries = await imageEntries(repo, top, where);
    if (wanted) entries = [selectPlatform(entries, wanted, where)];
    const index = { digest: top.digest, mediaType: top.mediaType };
    const run = limit(4); // an index may list dozens of platforms: a few requests at a time
    return Promise.all(
      entries.map((entry) =>
        run(async () => {
          const child = await fetchManifest(repo, entry.digest);
          return describeManifest(repo, child, { repoTags, where: `${repositoryName(r)}@${entry.digest}`, entry, index });
        }),
      ),
    );
  });
}

interface DescribeContext {
  repoTags: string[];
  /** The reference text used in error messages. */
  where: string;
  /** The index entry that led here (its platform is used when the config states none). */
  entry?: Descriptor;
  index?: { digest: Digest; mediaType: string };
}

/** Read the config of one image manifest and describe it. */
async function describeManifest(repo: Repository, m: FetchedManifest, ctx: DescribeContext): Promise<ImageDescription> {
  if (m.kind !== 'manifest') throw notAnImage(ctx.where, m.mediaType);
  const manifest = parseManifest(m.raw, ctx.where);
  if (!isImageConfigMediaType(manifest.config.mediaType)) {
    throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${ctx.where}: config media type ${manifest.config.mediaType} is not an image config (an artifact?)`);
  }
  const rawConfig = await repo.getBlobBytes(manifest.config.digest, CONFIG_MAX);
  if (rawConfig.length !== manifest.config.size) {
    throw new TarpushError('SIZE_MISMATCH', `${ctx.where}: config ${manifest.config.digest} is ${rawConfig.length} bytes, the manifest says ${manifest.config.size}`);
  }
  const config = parseConfig(rawConfig, `${ctx.where} config ${manifest.config.digest}`);
  if (config.diffIds.length !== manifest.layers.length) {
    throw new TarpushError(
      'LAYER_COUNT_MISMATCH',
      `${ctx.where}: the manifest lists ${manifest.layers.length} layers, the config's rootfs.diff_ids ${config.diffIds.length}`,
    );
  }
  const layers: LayerDescription[] = manifest.layers.map((l, i) => {
    const compression = compressionOfMediaType(l.mediaType);
    if (!compression) throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${ctx.where}: layer ${l.digest} has media type ${l.mediaType}, not a layer type tarpush knows`);
    return { digest: l.digest, size: l.size, mediaType: l.mediaType, compression, diffId: config.diffIds[i]! };
  });
  const platform = platformOf(config.platform, ctx.entry?.platform);
  // Key order as archive inspect documents it: names, platform, manifest, config, layers.
  const d: ImageDescription = {
    repoTags: [...ctx.repoTags],
    ...(platform ? { platform } : {}),
    mediaType: m.mediaType,
    digest: m.digest,
    ...(ctx.index ? { index: { ...ctx.index } } : {}),
    config: { digest: manifest.config.digest, size: manifest.config.size },
    layers,
  };
  return d;
}

/** The config's platform when it names one, else the index entry's. */
function platformOf(fromConfig: Platform | undefined, fromIndex: Platform | undefined): Platform | undefined {
  const p = fromConfig && fromConfig.os && fromConfig.architecture ? fromConfig : fromIndex;
  if (!p) return undefined;
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant) out.variant = p.variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}
