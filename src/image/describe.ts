import type { Digest } from './digest.js';
import type { Compression } from './media-types.js';
import { isAttestation } from './platform.js';
import type { Artifact, Descriptor, Image, ImageIndex, Manifestable, Platform } from './types.js';

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
  /** Foreign / non-distributable layer (not uploaded unless asked). */
  foreign?: true;
  /** Its bytes are not in the archive (a foreign layer listed by its urls). */
  absent?: true;
  urls?: string[];
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
  /** The manifest's `subject` (the image refers to another manifest). */
  subject?: { digest: Digest; mediaType: string };
}

/**
 * An index entry whose manifest the archive does not hold (a partial multi-platform save):
 * what the index says of it, and `carried: false`.
 */
export interface NotCarriedDescription {
  carried: false;
  repoTags: string[];
  refName?: string;
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  index: { digest: Digest; mediaType: string };
  /** The index entry is a BuildKit attestation manifest (platform unknown/unknown). */
  attestation?: true;
}

export interface ArtifactDescription {
  repoTags: string[];
  refName?: string;
  mediaType: string;
  digest: Digest;
  artifactType?: string;
  subject?: { digest: Digest; mediaType: string };
  /** BuildKit attestation manifests: the image manifest they attest (`vnd.docker.reference.digest`). */
  attests?: string;
  platform?: Platform;
  index?: { digest: Digest; mediaType: string };
  config: { digest: Digest; size: number; mediaType: string };
  blobs: { digest: Digest; size: number; mediaType: string }[];
}

/** Everything under one entry point: images (carried or not) and artifacts, each digest once. */
export interface Description {
  images: (ImageDescription | NotCarriedDescription)[];
  artifacts: ArtifactDescription[];
}

export interface DescribeNames {
  repoTags: readonly string[];
  refName?: string;
}

export const isCarried = (d: ImageDescription | NotCarriedDescription): d is ImageDescription => !('carried' in d);

const brief = (d: Descriptor): { digest: Digest; mediaType: string } => ({ digest: d.digest, mediaType: d.mediaType });

function named<T extends { repoTags: string[]; refName?: string }>(d: T, names: DescribeNames): T {
  if (names.refName !== undefined) d.refName = names.refName;
  return d;
}

export function describeImage(image: Image, names: DescribeNames): ImageDescription {
  const d: ImageDescription = named(
    {
      repoTags: [...names.repoTags],
      mediaType: image.mediaType,
      digest: image.digest,
      config: { digest: image.config.digest, size: image.config.size },
      layers: image.layers.map((l) => {
        const ld: LayerDescription = { digest: l.digest, size: l.size, mediaType: l.mediaType, compression: l.compression, diffId: l.diffId };
        if (l.foreign) ld.foreign = true;
        if (l.absent) ld.absent = true;
        if (l.urls?.length) ld.urls = [...l.urls];
        return ld;
      }),
    },
    names,
  );
  if (image.platform) d.platform = { ...image.platform };
  if (image.subject) d.subject = brief(image.subject);
  return d;
}

export function describeArtifact(a: Artifact, names: DescribeNames, via?: Descriptor): ArtifactDescription {
  const d: ArtifactDescription = named(
    {
      repoTags: [...names.repoTags],
      mediaType: a.mediaType,
      digest: a.digest,
      config: { digest: a.config.digest, size: a.config.size, mediaType: a.config.mediaType },
      blobs: a.blobs.map((b) => ({ digest: b.digest, size: b.size, mediaType: b.mediaType })),
    },
    names,
  );
  if (a.artifactType !== undefined) d.artifactType = a.artifactType;
  if (a.subject) d.subject = brief(a.subject);
  const attests = via?.annotations?.['vnd.docker.reference.digest'];
  if (via && isAttestation(via) && attests !== undefined) d.attests = attests;
  if (via?.platform) d.platform = { ...via.platform };
  return d;
}

/**
 * Describe an image, an artifact or an index. An index is flattened: one description per
 * platform image, artifact (attestation) or entry the archive does not carry, each naming
 * the index it belongs to (the outermost one, whose digest is what a tag would point at).
 * Nested indexes are walked depth first, in index order, and each digest once: indexes may
 * list a child many times or share children (the archive model is a DAG, see ImageIndex),
 * and a manifest is described where it is first reached.
 */
export function describe(item: Manifestable, names: DescribeNames): Description {
  if (item.kind === 'image') return { images: [describeImage(item, names)], artifacts: [] };
  if (item.kind === 'artifact') return { images: [], artifacts: [describeArtifact(item, names)] };
  const top = { digest: item.digest, mediaType: item.mediaType };
  const out: Description = { images: [], artifacts: [] };
  const seen = new Set<string>([item.digest]);
  const walk = (idx: ImageIndex): void => {
    for (const child of idx.manifests) {
      const c = child.item;
      if (seen.has(child.descriptor.digest)) continue;
      seen.add(child.descriptor.digest);
      if (!c) {
        const d: NotCarriedDescription = named({ carried: false, repoTags: [...names.repoTags], ...brief(child.descriptor), size: child.descriptor.size, index: top }, names);
        if (child.descriptor.platform) d.platform = { ...child.descriptor.platform };
        if (isAttestation(child.descriptor)) d.attestation = true;
        out.images.push(d);
      } else if (c.kind === 'index') {
        walk(c);
      } else if (c.kind === 'artifact') {
        out.artifacts.push({ ...describeArtifact(c, names, child.descriptor), index: top });
      } else {
        const d = describeImage(c, names);
        if (!d.platform && child.descriptor.platform) d.platform = { ...child.descriptor.platform };
        d.index = top;
        out.images.push(d);
      }
    }
  };
  walk(item);
  return out;
}

/** The images (carried ones) under an image or index, as describe() orders them. */
export function describeImages(item: Manifestable, names: DescribeNames): ImageDescription[] {
  return describe(item, names).images.filter(isCarried);
}
