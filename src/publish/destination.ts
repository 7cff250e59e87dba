import { resolve } from 'node:path';
import { TarpushError } from '../errors.js';
import { isTag, parseReference, type Reference } from '../reference/index.js';
import { isPrintable, printable } from '../util/printable.js';

/** Where an image goes: a registry repository or an OCI layout directory. */
export type Destination =
  | { kind: 'registry'; ref: Reference; text: string }
  | { kind: 'oci'; dir: string; tag?: string; text: string };

const TAG_RULE = 'tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

/**
 * `oci:DIR[:TAG]` (also `ocidir://DIR[:TAG]`, regctl's spelling) is an OCI layout directory;
 * anything else is a registry reference. As skopeo's `oci:` transport does, the first `:`
 * after the prefix ends the directory: what follows must be a valid tag, so a tag can never
 * be folded into the path (`oci:/x/lay:a/../../etc/y` is refused, not written to /etc/y).
 */
export function parseDestination(text: string): Destination {
  if (!isPrintable(text)) throw new TarpushError('USAGE', `destination ${JSON.stringify(text)} contains control characters`);
  const prefix = text.startsWith('oci:') ? 'oci:' : text.startsWith('ocidir://') ? 'ocidir://' : undefined;
  if (prefix) {
    const rest = text.slice(prefix.length);
    const colon = rest.indexOf(':');
    const dir = colon < 0 ? rest : rest.slice(0, colon);
    const tag = colon < 0 ? undefined : rest.slice(colon + 1);
    if (!dir) throw new TarpushError('USAGE', `destination ${JSON.stringify(text)} names no directory`);
    if (tag !== undefined && !isTag(tag)) {
      throw new TarpushError('USAGE', `destination ${printable(text)}: ${JSON.stringify(tag)} after the first ":" is not a tag (${TAG_RULE}; a directory name cannot hold ":")`);
    }
    return { kind: 'oci', dir: resolve(dir), tag, text };
  }
  return { kind: 'registry', ref: parseReference(text), text };
}

/**
 * A value given to `-t`: a bare tag. A reference or an archive path there is the usual slip
 * (`-t reg/app:1`, or a source after `-t`), so it gets a hint rather than a tag-rule lecture.
 */
export function checkTagArgument(tag: string): string {
  const shown = printable(tag);
  if (/\.(tar(\.\w+)?|tgz)$/.test(tag)) throw new TarpushError('USAGE', `-t ${shown}: that looks like an archive, not a tag (each -t takes one tag; put the source anywhere else)`);
  if (isTag(tag)) return tag;
  if (tag.includes('/') || tag.includes('@')) throw new TarpushError('USAGE', `-t ${shown}: -t takes a bare tag (e.g. -t latest); name another destination with -d ${shown}`);
  throw new TarpushError('USAGE', `invalid tag ${JSON.stringify(tag)} (${TAG_RULE})`);
}

/** The tags a destination receives: its own tag, then each extra tag, without repeats. */
export function destinationTags(dest: Destination, extraTags: readonly string[], fallback: string | undefined): string[] {
  const own = dest.kind === 'oci' ? dest.tag : dest.ref.tag;
  const tags = [own, ...extraTags].filter((t): t is string => !!t);
  if (tags.length === 0 && fallback && !(dest.kind === 'registry' && dest.ref.digest)) tags.push(fallback);
  for (const t of tags) checkTagArgument(t);
  return [...new Set(tags)];
}

/** The registry host a destination names, if it is a registry. */
export const registryOf = (d: Destination): string | undefined => (d.kind === 'registry' ? d.ref.registry : undefined);
