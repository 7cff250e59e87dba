import { TarpushError } from '../errors.js';
import type { ArchiveImage } from '../image/types.js';
import { parseReference } from '../reference/index.js';
import { printable } from '../util/printable.js';
import { checkTagArgument, destinationTags, ownTagOf, parseDestination, pinnedDigestOf, type PlaceRef } from '../places/parse.js';

/** One image into one destination, under these tags. */
export interface PlannedTarget {
  image: ArchiveImage;
  dest: PlaceRef;
  tags: string[];
}

export interface PlanInput {
  images: readonly ArchiveImage[];
  /** Parsed destinations as the user wrote them (empty: the archive's RepoTags). */
  dests: readonly PlaceRef[];
  tags: readonly string[];
  all: boolean;
}

/**
 * Every (image, destination, tags) of a publish, decided before the first request so that a
 * usage mistake costs nothing and is said once: with several images, a destination's own tag
 * or digest and `-t` cannot apply (they would put every image under one name).
 */
export function planTargets({ images, dests, tags, all }: PlanInput): PlannedTarget[] {
  for (const t of tags) checkTagArgument(t);
  const several = images.length > 1;
  if (several) {
    if (tags.length > 0) {
      throw new TarpushError('USAGE', `-t ${tags.map(printable).join(' -t ')} cannot apply to ${images.length} images: with --all each image is tagged with its own RepoTag or ref name`);
    }
    for (const d of dests) {
      const pinned = ownTagOf(d) ?? pinnedDigestOf(d);
      if (pinned) {
        throw new TarpushError('USAGE', `destination ${printable(d.text)} names ${pinned} but --all pushes ${images.length} images, each under its own tag: name the repository without a tag`);
      }
    }
  }
  return images.flatMap((image) => {
    if (dests.length === 0) {
      // No destination: the image's own RepoTags, as `docker push` would.
      if (image.repoTags.length === 0) throw new TarpushError('USAGE', `image ${image.index} of the archive has no RepoTags; name a destination`);
      return image.repoTags.map((rt) => {
        const dest = parseDestination(rt);
        return { image, dest, tags: destinationTags(dest, tags, 'latest') };
      });
    }
    if (all) {
      // Each image under its own tags; a single image may take the destination's and -t too.
      // An artifact without a name (a signature, an SBOM) goes by digest: its subject finds it.
      const own = ownTags(image);
      if (several && own.length === 0) {
        if (image.root.kind === 'artifact') return dests.map((dest) => ({ image, dest, tags: [] }));
        throw new TarpushError('USAGE', `--all: image ${image.index} has no RepoTag or ref name to tag it with`);
      }
      return dests.map((dest) => ({ image, dest, tags: destinationTags(dest, [...own, ...tags], several ? undefined : 'latest') }));
    }
    return dests.map((dest) => ({ image, dest, tags: destinationTags(dest, tags, 'latest') }));
  });
}

/** The tag an archive image carries: its RepoTags' tags, else its OCI ref name. */
function ownTags(image: ArchiveImage): string[] {
  const tags = image.repoTags.map((rt) => parseReference(rt).tag).filter((t): t is string => !!t);
  if (image.refName) tags.push(image.refName.includes(':') ? image.refName.slice(image.refName.lastIndexOf(':') + 1) : image.refName);
  return [...new Set(tags)];
}

/** Where each image goes, for the line printed before a push to the archive's own names. */
export function describeTargets(targets: readonly PlannedTarget[]): string {
  return targets.map((t) => `${printable(t.dest.text)} [tags ${t.tags.join(', ')}]`).join('; ');
}
