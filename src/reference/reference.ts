import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { DOCKER_HUB_REGISTRY, normaliseRegistryHost } from './registry-host.js';

/**
 * Image references in Docker's grammar (as distribution/reference parses them):
 * `[registry/]repository[:tag][@digest]`, with Docker Hub as the default registry.
 */
export interface Reference {
  /** `host[:port]` used for API calls; Docker Hub is `registry-1.docker.io`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/alpine`, `project/foo`. */
  readonly repository: string;
  /** Tag, when written (or defaulted through `parseReference`'s `defaultTag`). */
  readonly tag?: string;
  /** Digest from `@sha256:…`; when a tag is present too, the digest wins for pulls. */
  readonly digest?: Digest;
  /** The text the reference was parsed from (the normalised form for derived references). */
  readonly original: string;
}

/** Longest repository name (registry part as written included), as Docker limits it. */
export const NAME_MAX_LENGTH = 255;
/** Longest tag. */
export const TAG_MAX_LENGTH = 128;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]*$/;
const DIGEST_ALGORITHM = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;

function invalid(input: string, what: string): TarpushError {
  return new TarpushError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(input)}: ${what}`);
}

function checkDigest(input: string, d: string): Digest {
  const colon = d.indexOf(':');
  if (d === '') throw invalid(input, 'empty digest after "@"');
  if (colon < 0) throw invalid(input, `digest ${JSON.stringify(d)} must be written as sha256:<64 hex characters>`);
  const algorithm = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm)) throw invalid(input, `digest algorithm ${JSON.stringify(algorithm)} is malformed`);
  if (algorithm !== 'sha256') {
    throw invalid(input, `digest algorithm ${JSON.stringify(algorithm)} is not supported (only sha256)`);
  }
  if (!SHA256_HEX.test(hex)) {
    const why = /^[a-fA-F0-9]*$/.test(hex) && hex.length === 64 ? 'must be lower case' : `has ${hex.length} characters, 64 lowercase hex expected`;
    throw invalid(input, `sha256 digest ${why}`);
  }
  return d as Digest;
}

/** Docker's tag rule (letters, digits, `_` `.` `-`, not starting with `.` or `-`, at most 128): the one tag pattern. */
export function isTag(tag: string): boolean {
  return tag.length > 0 && tag.length <= TAG_MAX_LENGTH && TAG.test(tag);
}

function checkTag(input: string, tag: string): string {
  if (tag === '') throw invalid(input, 'empty tag after ":"');
  if (tag.length > TAG_MAX_LENGTH) throw invalid(input, `tag is ${tag.length} characters long (at most ${TAG_MAX_LENGTH})`);
  if (!TAG.test(tag)) {
    throw invalid(
      input,
      `tag ${JSON.stringify(tag)} may only hold letters, digits, "_", "." and "-", and must not start with "." or "-"`,
    );
  }
  return tag;
}

function checkPath(input: string, path: string): void {
  if (path === '') throw invalid(input, 'empty repository name');
  for (const component of path.split('/')) {
    if (component === '') throw invalid(input, 'repository path has an empty component (leading, trailing or double "/")');
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) {
      throw invalid(input, `repository name must be lowercase (${JSON.stringify(component)})`);
    }
    throw invalid(
      input,
      `repository component ${JSON.stringify(component)} may only hold lowercase letters, digits and single separators ("." "_" "__" "-") between them`,
    );
  }
}

/**
 * Docker's rule (distribution/reference splitDockerDomain): the first component names a
 * registry when it has "." or ":", is "localhost", or has an upper-case letter (repository
 * paths never do).
 */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

/**
 * Parse `[registry/]repository[:tag][@sha256:…]`. Without a registry the reference is on
 * Docker Hub, and a single-component name gets `library/` in front (`alpine` →
 * `registry-1.docker.io/library/alpine`). `defaultTag` applies when neither tag nor digest
 * is given. Throws TarpushError('REFERENCE_INVALID') saying what is wrong.
 */
export function parseReference(text: string, opts: { defaultTag?: string } = {}): Reference {
  // skopeo's transport name for a registry: the same reference.
  const s = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  const scheme = /^(https?):\/\//i.exec(s);
  if (scheme) {
    const rest = s.slice(scheme[0].length);
    const hint = scheme[1]!.toLowerCase() === 'http' ? ' (for a registry that speaks plain HTTP add --plain-http)' : '';
    throw invalid(s, `a reference has no URL scheme: write ${JSON.stringify(rest)}${hint}`);
  }
  if (s === '') throw invalid(s, 'empty reference');
  if (/\s/.test(s)) throw invalid(s, 'contains whitespace');
  if (/^[a-f0-9]{64}$/.test(s)) {
    throw invalid(s, 'a 64-character hex string is an image ID, not a repository name');
  }

  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (d.includes('@')) throw invalid(s, 'more than one "@"');
    digest = checkDigest(s, d);
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const tagColon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (tagColon >= 0) {
    tag = checkTag(s, rest.slice(tagColon + 1));
    rest = rest.slice(0, tagColon);
  }

  if (rest === '') throw invalid(s, 'empty repository name');
  if (rest.length > NAME_MAX_LENGTH) {
    throw invalid(s, `repository name is ${rest.length} characters long (at most ${NAME_MAX_LENGTH})`);
  }

  let registry = DOCKER_HUB_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = normaliseRegistryHost(rest.slice(0, slash), s);
    repository = rest.slice(slash + 1);
  } else if (slash === 0) {
    throw invalid(s, 'repository path has an empty component (leading, trailing or double "/")');
  }
  checkPath(s, repository);
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  if (tag === undefined && digest === undefined && opts.defaultTag !== undefined) {
    tag = checkTag(s, opts.defaultTag);
  }
  return build(registry, repository, tag, digest, s);
}

/** A frozen Reference; `original` defaults to the normalised text (for derived references). */
function build(registry: string, repository: string, tag: string | undefined, digest: Digest | undefined, original?: string): Reference {
  const r: { registry: string; repository: string; tag?: string; digest?: Digest; original: string } = {
    registry,
    repository,
    original: '',
  };
  if (tag !== undefined) r.tag = tag;
  if (digest !== undefined) r.digest = digest;
  r.original = original ?? formatReference(r);
  return Object.freeze(r);
}

/** Parse a repository without tag or digest: `alpine` → registry-1.docker.io + library/alpine. */
export function parseRepository(s: string): { registry: string; repository: string } {
  const r = parseReference(s);
  if (r.tag !== undefined || r.digest !== undefined) {
    throw invalid(s, `a repository without ${r.digest !== undefined ? 'digest' : 'tag'} is expected here`);
  }
  return { registry: r.registry, repository: r.repository };
}

/** `registry/repository`, e.g. `registry-1.docker.io/library/alpine`. */
export function repositoryName(r: { registry: string; repository: string }): string {
  return `${r.registry}/${r.repository}`;
}

/** Normalised text: `registry/repository[:tag][@digest]`. */
export function formatReference(r: Reference): string {
  let out = repositoryName(r);
  if (r.tag !== undefined) out += `:${r.tag}`;
  if (r.digest !== undefined) out += `@${r.digest}`;
  return out;
}

/** The same reference with another tag; a digest, if any, is kept (as Docker's WithTag does). */
export function withTag(r: Reference, tag: string): Reference {
  checkTag(`${repositoryName(r)}:${tag}`, tag);
  return build(r.registry, r.repository, tag, r.digest);
}

/** The same reference pinned to a digest; a tag, if any, is kept (as Docker's WithDigest does). */
export function withDigest(r: Reference, d: Digest | string): Reference {
  return build(r.registry, r.repository, r.tag, checkDigest(`${repositoryName(r)}@${d}`, d));
}

/** Same registry, repository, tag and digest (the text the user wrote does not matter). */
export function referenceEquals(a: Reference, b: Reference): boolean {
  return a.registry === b.registry && a.repository === b.repository && a.tag === b.tag && a.digest === b.digest;
}

/**
 * The one normal form for comparing names written different ways (`alpine:3`,
 * `library/alpine:3`, `docker.io/library/alpine:3`, `index.docker.io/…`, `Registry.Example/…`):
 * parseReference's reading with a missing tag meaning `latest`, Docker Hub written `docker.io`
 * as the docker CLI prints it. Text that is no valid reference is compared as written.
 */
export function normaliseName(text: string): string {
  let r: Reference;
  try {
    r = parseReference(text.trim(), { defaultTag: 'latest' });
  } catch {
    return text.trim();
  }
  return formatReference({ ...r, registry: r.registry === DOCKER_HUB_REGISTRY ? 'docker.io' : r.registry });
}

/**
 * A registry reference as go-containerregistry (and so kaniko) prints it: Docker Hub is
 * `index.docker.io`. Other text is returned unchanged.
 */
export function ggcrName(text: string): string {
  return text.startsWith(`${DOCKER_HUB_REGISTRY}/`) ? `index.docker.io/${text.slice(DOCKER_HUB_REGISTRY.length + 1)}` : text;
}
