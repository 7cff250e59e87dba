import { resolve } from 'node:path';
import { TarpushError } from '../errors.js';
import { parseReference, type Reference } from '../reference/index.js';

/** Where an image goes: a registry repository or an OCI layout directory. */
export type Destination =
  | { kind: 'registry'; ref: Reference; text: string }
  | { kind: 'oci'; dir: string; tag?: string; text: string };

const TAG_RE = /^[\w][\w.-]{0,127}$/;

/**
 * `oci:DIR[:TAG]` (also `ocidir://DIR[:TAG]`, regctl's spelling) is an OCI layout directory;
 * anything else is a registry reference. A trailing `:x` is a tag only when it is a valid
 * tag and not part of the path (no `/` after it).
 */
export function parseDestination(text: string): Destination {
  const prefix = text.startsWith('oci:') ? 'oci:' : text.startsWith('ocidir://') ? 'ocidir://' : undefined;
  if (prefix) {
    let rest = text.slice(prefix.length);
    let tag: string | undefined;
    const colon = rest.lastIndexOf(':');
    if (colon > 0 && TAG_RE.test(rest.slice(colon + 1))) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
    if (!rest) throw new TarpushError('USAGE', `destination ${JSON.stringify(text)} names no directory`);
    return { kind: 'oci', dir: resolve(rest), tag, text };
  }
  return { kind: 'registry', ref: parseReference(text), text };
}

/** The tags a destination receives: its own tag, then each extra tag, without repeats. */
export function destinationTags(dest: Destination, extraTags: readonly string[], fallback: string | undefined): string[] {
  const own = dest.kind === 'oci' ? dest.tag : dest.ref.tag;
  const tags = [own, ...extraTags].filter((t): t is string => !!t);
  if (tags.length === 0 && fallback && !(dest.kind === 'registry' && dest.ref.digest)) tags.push(fallback);
  for (const t of tags) {
    if (!TAG_RE.test(t)) throw new TarpushError('USAGE', `invalid tag ${JSON.stringify(t)} (tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  }
  return [...new Set(tags)];
}
