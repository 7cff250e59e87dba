import type { Digest } from './digest.js';
import type { Compression } from './media-types.js';
import type { Image, ImageIndex, Platform } from './types.js';

/**
 * A plain-JSON description of an image, the same whether it came from an archive or a
 * registry: what `inspect` prints and what scripts read with `--json`.
 */

export interface LayerDescription {
  digest: Digest;
  size: number;
  mediaType: string;
  compression: Compression;
  diffId: Digest;
}

export interface ImageDescription {
  repoTags: string[];
  refName?: string;
  mediaType: string;
  /** Manifest digest of this (single-platform) image. */
  digest: Digest;
  platform?: Platform;
  /** The index this image was reached through, when it is one platform of a multi-platform image. */
  index?: { digest: Digest; mediaType: string };
  config: { digest: Digest; size: number };
  layers: LayerDescription[];
}

export interface DescribeNames {
  repoTags: readonly string[];
  refName?: string;
}

export function describeImage(image: Image, names: DescribeNames): ImageDescription {
  const d: ImageDescription = {
    repoTags: [...names.repoTags],
    mediaType: image.mediaType,
    digest: image.digest,
    config: { digest: image.config.digest, size: image.config.size },
    layers: image.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, compression: l.compression, diffId: l.diffId })),
  };
  if (names.refName !== undefined) d.refName = names.refName;
  if (image.platform) d.platform = { ...image.platform };
  return d;
}

/**
 * Describe an image or an index. An index is flattened: one description per platform
 * image, each naming the index it belongs to (the outermost one, whose digest is what a
 * tag would point at). Nested indexes are walked depth first, in index order, and each
 * digest once: indexes may list a child many times or share children (the archive model
 * is a DAG, see ImageIndex), and an image is described where it is first reached.
 */
export function describeImages(item: Image | ImageIndex, names: DescribeNames): ImageDescription[] {
  if (item.kind === 'image') return [describeImage(item, names)];
  const top = { digest: item.digest, mediaType: item.mediaType };
  const out: ImageDescription[] = [];
  const seen = new Set<string>([item.digest]);
  const walk = (idx: ImageIndex): void => {
    for (const child of idx.manifests) {
      if (seen.has(child.item.digest)) continue;
      seen.add(child.item.digest);
      if (child.item.kind === 'index') {
        walk(child.item);
        continue;
      }
      const d = describeImage(child.item, names);
      if (!d.platform && child.descriptor.platform) d.platform = { ...child.descriptor.platform };
      d.index = top;
      out.push(d);
    }
  };
  walk(item);
  return out;
}
