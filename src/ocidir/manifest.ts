import { TarpushError } from '../errors.js';
import { isDigest, parseDigest, type Digest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { printable } from '../util/printable.js';
import type { Descriptor } from '../image/types.js';
import { readBlobBytes, writeBlobBytes } from './blob.js';
import { readIndex, updateIndex } from './index-json.js';
import { REF_NAME_ANNOTATION, assertRefName, refNameOf } from './tag.js';

/**
 * Manifests of an OCI layout. A manifest is a blob like any other; a tag is an entry in
 * index.json carrying the ref.name annotation. Storing by digest writes the blob only:
 * that is how the children of an index are stored (the index names them). A top-level
 * image published without any tag would be unreachable from index.json, so the layout
 * place lists it without a name through addIndexEntry() (places/open-sink.ts
 * `listUntagged`, called by publish/publish.ts), as it lists referrers.
 */

const isDigestReference = (ref: string): boolean => ref.startsWith('sha256:') || isDigest(ref);

export async function putManifest(root: string, reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
  if (isDigestReference(reference)) {
    const wanted = parseDigest(reference, `manifest reference for OCI layout ${root}`);
    const digest = await writeBlobBytes(root, raw);
    if (digest !== wanted) {
      throw new TarpushError('DIGEST_MISMATCH', `manifest pushed as ${wanted} to OCI layout ${root} has digest ${digest}`, {
        file: root,
        expected: wanted,
        actual: digest,
      });
    }
    return digest;
  }
  assertRefName(reference, root);
  const digest = await writeBlobBytes(root, raw);
  const entry: Descriptor = { mediaType, digest, size: raw.length, annotations: { [REF_NAME_ANNOTATION]: reference } };
  await updateIndex(root, (idx) => {
    const at = idx.manifests.findIndex((d) => refNameOf(d) === reference);
    const others = idx.manifests.filter((d) => refNameOf(d) !== reference);
    // The tag keeps its place in the list when it moves; a new tag goes last.
    others.splice(at >= 0 ? at : others.length, 0, entry);
    idx.manifests = others;
  });
  return digest;
}

/**
 * List a manifest in index.json without a name (for an image pushed by digest only).
 * No-op when an unnamed entry for the same digest exists. The blob must already be stored.
 */
export async function addIndexEntry(root: string, descriptor: Descriptor): Promise<void> {
  const entry: Descriptor = { ...descriptor };
  if (entry.annotations && REF_NAME_ANNOTATION in entry.annotations) {
    throw new TarpushError('USAGE', `addIndexEntry is for untagged entries; tag "${printable(entry.annotations[REF_NAME_ANNOTATION] ?? '')}" with putManifest`);
  }
  await readBlobBytes(root, entry.digest); // exists and is intact
  await updateIndex(root, (idx) => {
    if (idx.manifests.some((d) => d.digest === entry.digest && refNameOf(d) === undefined)) return false;
    idx.manifests.push(entry);
    return true;
  });
}

/** Media type a manifest declares, or what its shape says when it declares none. */
function mediaTypeOf(raw: Buffer): string {
  try {
    const doc = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (typeof doc['mediaType'] === 'string') return doc['mediaType'];
    return Array.isArray(doc['manifests']) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return MediaType.ociManifest;
  }
}

/** Fetch a manifest by tag or digest; NOT_FOUND when the layout has no such tag or blob. */
export async function getManifest(root: string, reference: string): Promise<{ raw: Buffer; mediaType: string; digest: Digest }> {
  const idx = await readIndex(root);
  if (isDigestReference(reference)) {
    const digest = parseDigest(reference, `manifest reference for OCI layout ${root}`);
    const raw = await readBlobBytes(root, digest);
    const listed = idx.manifests.find((d) => d.digest === digest);
    return { raw, digest, mediaType: listed?.mediaType ?? mediaTypeOf(raw) };
  }
  const entry = idx.manifests.find((d) => refNameOf(d) === reference);
  if (!entry) throw new TarpushError('NOT_FOUND', `OCI layout ${root} has no tag "${printable(reference)}"`, { file: root });
  const raw = await readBlobBytes(root, entry.digest);
  return { raw, digest: entry.digest, mediaType: entry.mediaType };
}
