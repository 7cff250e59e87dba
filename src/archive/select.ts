import { TarpushError } from '../errors.js';
import type { Archive, ArchiveImage } from '../image/types.js';
import { printable } from '../util/printable.js';
import { sameRepoTag } from './repo-tag.js';

export interface ImageSelection {
  /** A RepoTag (exact or normalised: `alpine:3` = `docker.io/library/alpine:3`), an OCI ref name, a manifest digest, or a position (`0`, `1`…). */
  image?: string;
  /** Every image in the archive. */
  all?: boolean;
}

/** Images a message lists before saying how many more there are (an archive may hold thousands). */
export const MAX_CHOICES_SHOWN = 20;

/**
 * The images, for messages: `0: alpine:3, alpine:latest (sha256:…); 1: …`, at most
 * `max` of them, then how many more. Names come from the archive and are escaped.
 */
export function describeChoices(images: readonly ArchiveImage[], max = MAX_CHOICES_SHOWN): string {
  const shown = images.slice(0, max).map((im) => {
    const names = [...im.repoTags, ...(im.refName !== undefined ? [`ref ${im.refName}`] : [])].map(printable);
    return `${im.index}: ${names.length > 0 ? names.join(', ') : '(untagged)'} (${im.root.digest})`;
  });
  const more = images.length - shown.length;
  return more > 0 ? `${shown.join('; ')}; … and ${more} more (tarpush inspect lists them all)` : shown.join('; ');
}

function matches(im: ArchiveImage, sel: string): boolean {
  if (im.repoTags.some((t) => sameRepoTag(t, sel))) return true;
  if (im.refName !== undefined && im.refName === sel) return true;
  return im.root.digest === sel;
}

/**
 * The images to work on. No selection: the archive's only image (several →
 * IMAGE_AMBIGUOUS listing them). A selection that matches nothing → IMAGE_NOT_FOUND
 * listing the choices; one that matches several images (a ref name used twice) →
 * IMAGE_AMBIGUOUS.
 */
export function selectImages(archive: Pick<Archive, 'path' | 'images'>, sel: ImageSelection = {}): ArchiveImage[] {
  const images = archive.images;
  const path = printable(archive.path);
  const choices = () => describeChoices(images);
  if (sel.all) {
    if (images.length === 0) throw new TarpushError('IMAGE_NOT_FOUND', `${path} holds no images`, { file: archive.path });
    return [...images];
  }
  if (sel.image === undefined) {
    if (images.length === 1) return [images[0]!];
    if (images.length === 0) throw new TarpushError('IMAGE_NOT_FOUND', `${path} holds no images`, { file: archive.path });
    throw new TarpushError('IMAGE_AMBIGUOUS', `${path} holds ${images.length} images; choose one with --image (or --all): ${choices()}`, {
      file: archive.path,
    });
  }
  const wanted = sel.image;
  if (/^\d+$/.test(wanted)) {
    const im = images[Number(wanted)];
    if (!im) throw new TarpushError('IMAGE_NOT_FOUND', `${path} has no image number ${wanted}; choices: ${choices()}`, { file: archive.path });
    return [im];
  }
  const found = images.filter((im) => matches(im, wanted));
  if (found.length === 0) {
    throw new TarpushError('IMAGE_NOT_FOUND', `${path} has no image named ${printable(JSON.stringify(wanted))}; choices: ${choices()}`, {
      file: archive.path,
    });
  }
  if (found.length > 1 && new Set(found.map((f) => f.root.digest)).size > 1) {
    throw new TarpushError('IMAGE_AMBIGUOUS', `${printable(JSON.stringify(wanted))} names ${found.length} different images in ${path}: ${describeChoices(found)}`, {
      file: archive.path,
    });
  }
  return [found[0]!];
}
