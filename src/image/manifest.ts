import { TarpushError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import { Shape, type JsonObject } from './json-shape.js';
import { MediaType, type ManifestFormat } from './media-types.js';
import type { Descriptor, Platform } from './types.js';
import { printable } from '../util/printable.js';

/**
 * Image manifests and indexes: building them byte for byte as go-containerregistry would
 * (so a rebuilt kaniko manifest keeps the digest the build reported), and parsing them
 * with shape checks.
 */

// ---------------------------------------------------------------------------------------
// Encoding with Go's encoding/json conventions: struct field order, compact output, map
// keys sorted, and HTML-safe escaping of <, >, & and U+2028/U+2029.

const goEscapes = /[<>&\u2028\u2029]/g;

/** A JSON string as Go's json.Marshal writes it. */
export function goString(s: string): string {
  return JSON.stringify(s).replace(goEscapes, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function goStringArray(a: readonly string[]): string {
  return `[${a.map(goString).join(',')}]`;
}

/** A map[string]string: keys in sorted order, as Go writes maps. */
function goStringMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort();
  return `{${keys.map((k) => `${goString(k)}:${goString(m[k]!)}`).join(',')}}`;
}

type Field = [name: string, json: string | undefined];
const goObject = (fields: Field[]): string =>
  `{${fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${goString(k)}:${v}`)
    .join(',')}}`;

const nonEmptyArray = (a: readonly string[] | undefined): string | undefined => (a && a.length > 0 ? goStringArray(a) : undefined);
const nonEmptyMap = (m: Readonly<Record<string, string>> | undefined): string | undefined =>
  m && Object.keys(m).length > 0 ? goStringMap(m) : undefined;
const optString = (s: string | undefined): string | undefined => (s ? goString(s) : undefined);

/** go-containerregistry v1.Platform field order. */
export function encodePlatform(p: Platform): string {
  return goObject([
    ['architecture', goString(p.architecture)],
    ['os', goString(p.os)],
    ['os.version', optString(p['os.version'])],
    ['os.features', nonEmptyArray(p['os.features'])],
    ['variant', optString(p.variant)],
  ]);
}

/** go-containerregistry v1.Descriptor field order: mediaType, size, digest, urls, annotations, platform, artifactType. */
export function encodeDescriptor(d: Descriptor): string {
  return goObject([
    ['mediaType', goString(d.mediaType)],
    ['size', String(d.size)],
    ['digest', goString(d.digest)],
    ['urls', nonEmptyArray(d.urls)],
    ['annotations', nonEmptyMap(d.annotations)],
    ['platform', d.platform ? encodePlatform(d.platform) : undefined],
    ['artifactType', optString(d.artifactType)],
  ]);
}

export interface ManifestParts {
  /** docker: Docker v2 schema 2; oci: OCI image manifest. */
  format: ManifestFormat;
  config: Descriptor;
  /** Layers, oldest first. */
  layers: readonly Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

/**
 * Compact manifest JSON in go-containerregistry's field order (schemaVersion, mediaType,
 * config, layers, annotations, subject). Descriptors are written as given: callers
 * choose media types (e.g. after compressing a docker-save layer or converting formats).
 */
export function buildManifest(parts: ManifestParts): Buffer {
  const mediaType = parts.format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest;
  const json = goObject([
    ['schemaVersion', '2'],
    ['mediaType', goString(mediaType)],
    ['config', encodeDescriptor(parts.config)],
    ['layers', `[${parts.layers.map(encodeDescriptor).join(',')}]`],
    ['annotations', nonEmptyMap(parts.annotations)],
    ['subject', parts.subject ? encodeDescriptor(parts.subject) : undefined],
  ]);
  return Buffer.from(json, 'utf8');
}

export interface IndexParts {
  format: ManifestFormat;
  manifests: readonly Descriptor[];
  annotations?: Record<string, string>;
}

/** Compact index / manifest list JSON in go-containerregistry's field order. */
export function buildIndex(parts: IndexParts): Buffer {
  const mediaType = parts.format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  const json = goObject([
    ['schemaVersion', '2'],
    ['mediaType', goString(mediaType)],
    ['manifests', `[${parts.manifests.map(encodeDescriptor).join(',')}]`],
    ['annotations', nonEmptyMap(parts.annotations)],
  ]);
  return Buffer.from(json, 'utf8');
}

// ---------------------------------------------------------------------------------------
// Parsing with shape checks.

export interface ParsedManifest {
  schemaVersion: 2;
  /** The mediaType field, when the document carries one. */
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

export interface ParsedIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

const DIGEST_SYNTAX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function parsePlatform(s: Shape, v: unknown, field: string): Platform {
  const o = s.object(v, field);
  const p: Platform = { architecture: s.string(o.architecture, `${field}.architecture`), os: s.string(o.os, `${field}.os`) };
  const variant = s.optString(o.variant, `${field}.variant`);
  if (variant) p.variant = variant;
  const osVersion = s.optString(o['os.version'], `${field}.os.version`);
  if (osVersion) p['os.version'] = osVersion;
  if (o['os.features'] !== undefined) p['os.features'] = s.stringArray(o['os.features'], `${field}.os.features`);
  return p;
}

/** A digest field: well-formed, and sha256 (the only algorithm registries agree on). */
export function parseDigestField(s: Shape, v: unknown, field: string): Digest {
  const str = s.string(v, field);
  if (isDigest(str)) return str;
  if (DIGEST_SYNTAX.test(str) && !str.startsWith('sha256:')) s.fail(field, `uses an unsupported digest algorithm: ${JSON.stringify(str)}`);
  return s.fail(field, `is not a sha256 digest: ${JSON.stringify(str)}`);
}

export function parseDescriptor(s: Shape, v: unknown, field: string): Descriptor {
  const o = s.object(v, field);
  const mediaType = s.string(o.mediaType, `${field}.mediaType`);
  if (!mediaType) s.fail(`${field}.mediaType`, 'must not be empty');
  const d: Descriptor = {
    mediaType,
    size: s.size(o.size, `${field}.size`),
    digest: parseDigestField(s, o.digest, `${field}.digest`),
  };
  if (o.urls !== undefined && o.urls !== null) d.urls = s.stringArray(o.urls, `${field}.urls`);
  if (o.annotations !== undefined && o.annotations !== null) d.annotations = s.stringMap(o.annotations, `${field}.annotations`);
  if (o.platform !== undefined && o.platform !== null) d.platform = parsePlatform(s, o.platform, `${field}.platform`);
  const artifactType = s.optString(o.artifactType, `${field}.artifactType`);
  if (artifactType) d.artifactType = artifactType;
  return d;
}

function common(s: Shape, o: JsonObject): { mediaType?: string; artifactType?: string; annotations?: Record<string, string> } {
  if (o.schemaVersion !== 2) s.fail('schemaVersion', `must be 2, got ${JSON.stringify(o.schemaVersion)}`);
  const out: { mediaType?: string; artifactType?: string; annotations?: Record<string, string> } = {};
  const mediaType = s.optString(o.mediaType, 'mediaType');
  if (mediaType) out.mediaType = mediaType;
  const artifactType = s.optString(o.artifactType, 'artifactType');
  if (artifactType) out.artifactType = artifactType;
  if (o.annotations !== undefined && o.annotations !== null) out.annotations = s.stringMap(o.annotations, 'annotations');
  return out;
}

/** Parse an image manifest (OCI or Docker schema 2); MANIFEST_INVALID names `where` and the field. */
export function parseManifest(raw: Buffer | string, where: string): ParsedManifest {
  const s = new Shape('MANIFEST_INVALID', where);
  const o = s.object(s.parse(raw, 'manifest'), '');
  if (o.config === undefined && Array.isArray(o.manifests)) s.fail('', 'is an index, not an image manifest');
  const m: ParsedManifest = {
    schemaVersion: 2,
    ...common(s, o),
    config: parseDescriptor(s, o.config, 'config'),
    layers: s.array(o.layers ?? [], 'layers').map((l, i) => parseDescriptor(s, l, `layers[${i}]`)),
  };
  if (o.subject !== undefined && o.subject !== null) m.subject = parseDescriptor(s, o.subject, 'subject');
  return m;
}

/** Parse an image index / manifest list; MANIFEST_INVALID names `where` and the field. */
export function parseIndex(raw: Buffer | string, where: string): ParsedIndex {
  const s = new Shape('MANIFEST_INVALID', where);
  const o = s.object(s.parse(raw, 'index'), '');
  if (o.manifests === undefined && o.config !== undefined) s.fail('', 'is an image manifest, not an index');
  return {
    schemaVersion: 2,
    ...common(s, o),
    manifests: s.array(o.manifests, 'manifests').map((d, i) => parseDescriptor(s, d, `manifests[${i}]`)),
  };
}

/** Throws MANIFEST_INVALID when a manifest's own mediaType field disagrees with the descriptor that pointed at it. */
export function checkDeclaredMediaType(declared: string | undefined, expected: string, where: string): void {
  if (declared !== undefined && declared !== expected) {
    throw new TarpushError('MANIFEST_INVALID', `${where}: mediaType ${printable(JSON.stringify(declared))} disagrees with the descriptor's ${printable(JSON.stringify(expected))}`, {
      entry: where,
    });
  }
}
