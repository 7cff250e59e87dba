import { parseConfig } from '../image/config.js';
import type { Digest } from '../image/digest.js';
import { parseIndex, parseManifest } from '../image/manifest.js';
import { compressionOfMediaType } from '../image/media-types.js';
import { isAttestation, platformMatches, type PlatformSpec } from '../image/platform.js';
import type { ByteSource, Descriptor } from '../image/types.js';
import type { Repository } from '../registry/index.js';
import { registryBlobSource } from './blob-source.js';
import { CONFIG_MAX } from './describe-remote.js';
import { ACCEPT_IMAGES, fetchManifest } from './fetch-manifest.js';

/**
 * What an image in a registry says about its layers: manifest layers[i] is the compressed
 * form of config rootfs.diff_ids[i]. The registry's claim, read cheaply (the manifest, for an
 * index the children that matter, and their configs; never a layer): a publisher uses it to
 * find a blob it need not compress again, and checks it before relying on it.
 */
export interface ClaimedPair {
  diffId: Digest;
  digest: Digest;
  size: number;
  compression: 'gzip' | 'zstd';
  /** The blob where this image lives, for reading it to check the claim. */
  source: ByteSource;
  registry: string;
  repository: string;
}

/** Children of an index read at most (a large index costs a manifest and a config each). */
const MAX_CHILDREN = 8;

/**
 * The pairs `reference` in `repo` claims: an image's own, an index's children matching any
 * of `platforms` (all image children when none is given, up to MAX_CHILDREN). A manifest or
 * config that does not parse, or whose layer and diff_id counts differ, gives no pairs;
 * errors of the registry (404, timeouts) are the caller's to treat as "nothing learned".
 */
export async function claimedPairs(repo: Repository, reference: string, platforms: readonly PlatformSpec[]): Promise<ClaimedPair[]> {
  const top = await fetchManifest(repo, reference, ACCEPT_IMAGES);
  const where = `${repo.name}:${reference}`;
  if (top.kind === 'manifest') return imagePairs(repo, top.raw, where);
  if (top.kind !== 'index') return [];
  const children = parseIndex(top.raw, where)
    .manifests.filter((d) => !isAttestation(d) && (platforms.length === 0 || platforms.some((p) => platformMatches(d.platform, p))))
    .slice(0, MAX_CHILDREN);
  const lists = await Promise.all(
    children.map(async (d: Descriptor) => {
      const child = await fetchManifest(repo, d.digest, [d.mediaType, ...ACCEPT_IMAGES]);
      return child.kind === 'manifest' ? imagePairs(repo, child.raw, `${repo.name}@${d.digest}`) : [];
    }),
  );
  return lists.flat();
}

async function imagePairs(repo: Repository, raw: Buffer, where: string): Promise<ClaimedPair[]> {
  let layers: readonly Descriptor[];
  let config: Descriptor;
  try {
    ({ layers, config } = parseManifest(raw, where));
  } catch {
    return [];
  }
  const rawConfig = await repo.getBlobBytes(config.digest, CONFIG_MAX);
  let diffIds: readonly Digest[];
  try {
    diffIds = parseConfig(rawConfig, `${where} config`).diffIds;
  } catch {
    return [];
  }
  if (diffIds.length !== layers.length) return [];
  return layers.flatMap((l, i) => {
    const compression = compressionOfMediaType(l.mediaType);
    if (compression !== 'gzip' && compression !== 'zstd') return [];
    return [{ diffId: diffIds[i]!, digest: l.digest, size: l.size, compression, source: registryBlobSource(repo, l.digest, l.size), registry: repo.registry, repository: repo.repository }];
  });
}
