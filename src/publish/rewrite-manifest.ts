import type { Descriptor } from '../image/types.js';
import { MediaType, type ManifestFormat } from '../image/media-types.js';

/**
 * Rewrites manifest and index JSON when publishing changes what they point at (layers
 * compressed on the way, children re-encoded) or their format (--format docker|oci).
 * When nothing changes the original bytes are returned untouched, so the digest the build
 * reported is the digest that is pushed. Otherwise the parsed JSON is patched in place, which
 * keeps every other field and the original key order.
 */

const dockerToOci: Record<string, string> = {
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerConfig]: MediaType.ociConfig,
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
};
const ociToDocker: Record<string, string> = Object.fromEntries(Object.entries(dockerToOci).map(([d, o]) => [o, d]));

/** The media type in the target format (unchanged when the format has no equivalent, e.g. zstd in docker). */
export function convertMediaType(mediaType: string, format: ManifestFormat | undefined): string {
  if (!format) return mediaType;
  return (format === 'oci' ? dockerToOci[mediaType] : ociToDocker[mediaType]) ?? mediaType;
}

type Json = Record<string, unknown>;

function patchDescriptor(target: Json, d: Descriptor, format: ManifestFormat | undefined): void {
  target.mediaType = convertMediaType(d.mediaType, format);
  target.digest = d.digest;
  target.size = d.size;
  // A foreign layer uploaded as an ordinary one no longer lives at its urls.
  if (d.urls) target.urls = d.urls;
  else delete target.urls;
}

function serialise(doc: Json, original: Buffer): Buffer {
  const out = Buffer.from(JSON.stringify(doc));
  return out.equals(original) ? original : out;
}

function sameDescriptor(a: Json, d: Descriptor, format: ManifestFormat | undefined): boolean {
  return a.digest === d.digest && a.size === d.size && a.mediaType === convertMediaType(d.mediaType, format) && (a.urls === undefined) === (d.urls === undefined);
}

/** Docker schema 2 has no annotations, subject or artifactType: drop them when converting to docker. */
function dropOciOnlyFields(doc: Json): void {
  delete doc.annotations;
  delete doc.subject;
  delete doc.artifactType;
}

export function rewriteManifest(
  raw: Buffer,
  change: { format?: ManifestFormat; config: Descriptor; layers: readonly Descriptor[] },
): Buffer {
  const doc = JSON.parse(raw.toString('utf8')) as Json;
  const layers = doc.layers as Json[];
  const config = doc.config as Json;
  const mediaType = convertMediaType(String(doc.mediaType ?? MediaType.ociManifest), change.format);
  const unchanged =
    (doc.mediaType === undefined ? change.format !== 'docker' : doc.mediaType === mediaType) &&
    sameDescriptor(config, change.config, change.format) &&
    layers.length === change.layers.length &&
    layers.every((l, i) => sameDescriptor(l, change.layers[i]!, change.format));
  if (unchanged) return raw;
  patchDescriptor(config, change.config, change.format);
  change.layers.forEach((d, i) => patchDescriptor(layers[i]!, d, change.format));
  if (change.format === 'docker') dropOciOnlyFields(doc);
  // keep schemaVersion first and mediaType second, as every tool writes them
  const { schemaVersion, mediaType: _old, ...rest } = doc;
  return serialise({ schemaVersion, mediaType, ...rest }, raw);
}

export function rewriteIndex(
  raw: Buffer,
  change: { format?: ManifestFormat; children: readonly (Descriptor | undefined)[] },
): Buffer {
  const doc = JSON.parse(raw.toString('utf8')) as Json;
  const manifests = doc.manifests as Json[];
  const mediaType = convertMediaType(String(doc.mediaType ?? MediaType.ociIndex), change.format);
  const kept = manifests.filter((_, i) => change.children[i] !== undefined);
  const unchanged =
    kept.length === manifests.length &&
    (doc.mediaType === undefined ? change.format !== 'docker' : doc.mediaType === mediaType) &&
    manifests.every((m, i) => sameDescriptor(m, change.children[i]!, change.format));
  if (unchanged) return raw;
  manifests.forEach((m, i) => {
    const d = change.children[i];
    if (d) patchDescriptor(m, d, change.format);
  });
  doc.manifests = kept;
  if (change.format === 'docker') dropOciOnlyFields(doc);
  const { schemaVersion, mediaType: _old, ...rest } = doc;
  return serialise({ schemaVersion, mediaType, ...rest }, raw);
}
