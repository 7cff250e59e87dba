import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { TarpushError } from '../errors.js';
import { isTag, parseReference, type Reference } from '../reference/index.js';
import { isPrintable, printable } from '../util/printable.js';
import type { Place } from './open-sink.js';

/**
 * Where images are read from or written to, as the user writes it. The prefixes are
 * skopeo's transport names, so its users know them; each kind is one entry of the table in
 * `table.ts` (how to open it as a source and as a sink).
 */
export type PlaceRef =
  /** `host/repo[:tag|@digest]`, also written `docker://…` */
  | { kind: 'registry'; ref: Reference; text: string }
  /** `oci:DIR[:TAG]` (also `ocidir://`, regctl's spelling): an OCI layout directory */
  | { kind: 'oci'; dir: string; tag?: string; text: string }
  /** `oci-archive:FILE[:TAG]`: an OCI layout in a tar */
  | { kind: 'oci-archive'; file: string; tag?: string; text: string }
  /** `docker-archive:FILE[:repo:tag]`: a `docker save` tar (`docker load`, `podman load`) */
  | { kind: 'docker-archive'; file: string; repository?: string; tag?: string; text: string }
  /** A path (or `-` for stdin) read as any archive format tarpush knows: sources only */
  | { kind: 'archive'; path: string; text: string }
  /**
   * A sink the caller opened itself (a library user's own place, the tests' memory sink):
   * never parsed from text; `tag` is what the place names, as `oci:DIR:TAG` would.
   */
  | { kind: 'opened'; place: Place; tag?: string; text: string };

export type PlaceKind = PlaceRef['kind'];

const TAG_RULE = 'tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

/** `PREFIX:PATH[:REST]`: as skopeo splits it, the first `:` after the prefix ends the path. */
function splitPath(text: string, prefix: string): { path: string; rest: string | undefined } {
  const body = text.slice(prefix.length);
  const colon = body.indexOf(':');
  const path = colon < 0 ? body : body.slice(0, colon);
  if (!path) throw new TarpushError('USAGE', `${printable(text)} names no ${prefix.startsWith('oci:') || prefix === 'ocidir://' ? 'directory' : 'file'}`);
  return { path: resolve(path), rest: colon < 0 ? undefined : body.slice(colon + 1) };
}

function tagAfter(text: string, rest: string | undefined): string | undefined {
  if (rest !== undefined && !isTag(rest)) {
    throw new TarpushError('USAGE', `${printable(text)}: ${JSON.stringify(rest)} after the first ":" is not a tag (${TAG_RULE}; a path cannot hold ":")`);
  }
  return rest;
}

/** `oci:DIR[:tag]` and its other spelling `ocidir://DIR[:tag]`. */
function ociDirectory(text: string, prefix: string): PlaceRef {
  const { path, rest } = splitPath(text, prefix);
  return { kind: 'oci', dir: path, tag: tagAfter(text, rest), text };
}

const PREFIXED: ReadonlyArray<{ prefix: string; parse: (text: string, prefix: string) => PlaceRef }> = [
  { prefix: 'docker://', parse: (text, prefix) => ({ kind: 'registry', ref: parseReference(text.slice(prefix.length)), text }) },
  { prefix: 'oci:', parse: ociDirectory },
  { prefix: 'ocidir://', parse: ociDirectory },
  {
    prefix: 'oci-archive:',
    parse: (text, prefix) => {
      const { path, rest } = splitPath(text, prefix);
      return { kind: 'oci-archive', file: path, tag: tagAfter(text, rest), text };
    },
  },
  {
    prefix: 'docker-archive:',
    parse: (text, prefix) => {
      const { path, rest } = splitPath(text, prefix);
      if (rest === undefined) return { kind: 'docker-archive', file: path, text };
      // The name as written (docker's short form stays short in RepoTags), checked by the grammar.
      const name = parseReference(rest);
      if (name.digest) throw new TarpushError('USAGE', `${printable(text)}: a docker archive names images by repo:tag, not by digest`);
      const repository = name.tag ? rest.slice(0, rest.length - name.tag.length - 1) : rest;
      return { kind: 'docker-archive', file: path, repository, ...(name.tag ? { tag: name.tag } : {}), text };
    },
  },
];

/**
 * Parse a place. A prefixed text is that place. Otherwise, as a sink it is a registry
 * reference (`push img.tar reg/app:1`); as a source it is an archive when it is `-`, looks
 * like a path or exists on disk, and a registry reference otherwise (`copy reg/a:1 …`).
 * `archiveOnly` sources (push's) are always archives.
 */
export function parsePlace(text: string, role: 'source' | 'sink', opts: { archiveOnly?: boolean } = {}): PlaceRef {
  if (!isPrintable(text)) throw new TarpushError('USAGE', `${JSON.stringify(text)} contains control characters`);
  for (const p of PREFIXED) if (text.startsWith(p.prefix)) return p.parse(text, p.prefix);
  if (role === 'source' && (opts.archiveOnly || text === '-' || /^(\.{0,2}\/|~)/.test(text) || existsSync(text))) {
    return { kind: 'archive', path: text === '-' ? '-' : resolve(text), text };
  }
  return { kind: 'registry', ref: parseReference(text), text };
}

/** A place already opened as a sink, to publish into as if it were named (`publishImages(images, opts, [openedPlace(p)])`). */
export const openedPlace = (place: Place, tag?: string): PlaceRef => ({ kind: 'opened', place, ...(tag !== undefined ? { tag } : {}), text: tag !== undefined ? place.reference(tag) : place.name });

/** A destination as push and copy take it (a sink). */
export const parseDestination = (text: string): PlaceRef => parsePlace(text, 'sink');

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

/** The tag a place names itself, if any. */
export function ownTagOf(d: PlaceRef): string | undefined {
  switch (d.kind) {
    case 'registry':
      return d.ref.tag;
    case 'oci':
    case 'oci-archive':
    case 'docker-archive':
    case 'opened':
      return d.tag;
    case 'archive':
      return undefined;
  }
}

/** The digest a place pins, if any. */
export const pinnedDigestOf = (d: PlaceRef): string | undefined => (d.kind === 'registry' ? d.ref.digest : undefined);

/**
 * The tags a destination receives: its own tag, then each extra tag, without repeats;
 * `fallback` (latest) when there is none, except for a destination pinned by digest and a
 * docker archive with no name to put a tag under.
 */
export function destinationTags(dest: PlaceRef, extraTags: readonly string[], fallback: string | undefined): string[] {
  const tags = [ownTagOf(dest), ...extraTags].filter((t): t is string => !!t);
  const noName = dest.kind === 'docker-archive' && !dest.repository;
  if (tags.length === 0 && fallback && !pinnedDigestOf(dest) && !noName) tags.push(fallback);
  for (const t of tags) checkTagArgument(t);
  return [...new Set(tags)];
}

/** The registry host a place names, if it is a registry. */
export const registryOf = (d: PlaceRef): string | undefined => (d.kind === 'registry' ? d.ref.registry : undefined);

/** Places that are the same (one registry repository, one directory, one file) share one opened sink. */
export function placeKey(d: PlaceRef): string {
  switch (d.kind) {
    case 'registry':
      return `${d.ref.registry}/${d.ref.repository}`;
    case 'oci':
      return `oci:${d.dir}`;
    case 'oci-archive':
      return `oci-archive:${d.file}`;
    case 'docker-archive':
      return `docker-archive:${d.file}`;
    case 'archive':
      return `archive:${d.path}`;
    case 'opened':
      return `opened:${d.place.name}`;
  }
}
