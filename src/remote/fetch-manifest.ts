import { TarpushError } from '../errors.js';
import { sha256, type Digest } from '../image/digest.js';
import { isIndexMediaType, isManifestMediaType, MediaType } from '../image/media-types.js';
import type { Repository } from '../registry/index.js';

/**
 * GET a manifest from a repository and classify it. The digest is always computed from
 * the bytes (never taken on the registry's word): when the reference is a digest the bytes
 * must hash to it, and when the registry reports a digest for a tag it must agree too.
 */

/** Every manifest type tarpush reads (images and indexes, Docker and OCI). */
export const ACCEPT_IMAGES = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest] as const;
/** The same plus anything else: `tag` copies whatever the tag points at (artifacts too), unread. */
export const ACCEPT_ANY = [...ACCEPT_IMAGES, '*/*'] as const;

export type ManifestKind = 'index' | 'manifest' | 'other';

export interface FetchedManifest {
  raw: Buffer;
  /** Content-Type the registry sent, else the document's own mediaType field (the client decides). */
  mediaType: string;
  digest: Digest;
  kind: ManifestKind;
}

/** GET `reference` (tag or digest) from `repo`. The client checks the digest too; checking here keeps the guarantee local. */
export async function fetchManifest(repo: Repository, reference: string, accept: readonly string[] = ACCEPT_IMAGES): Promise<FetchedManifest> {
  const got = await repo.getManifest(reference, { accept: [...accept] });
  const digest = sha256(got.raw);
  const claimed = reference.startsWith('sha256:') ? reference : got.digest;
  if (claimed !== digest) {
    throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `manifest ${repo.name}${reference.startsWith('sha256:') ? '@' : ':'}${reference}: the registry sent bytes that hash to ${digest}, not ${claimed}`, {
      expected: claimed,
      actual: digest,
    });
  }
  const kind: ManifestKind = isIndexMediaType(got.mediaType) ? 'index' : isManifestMediaType(got.mediaType) ? 'manifest' : 'other';
  return { raw: got.raw, mediaType: got.mediaType, digest, kind };
}

/** The error for a manifest tarpush cannot read as an image (schema 1, an artifact, …). */
export function notAnImage(where: string, mediaType: string): TarpushError {
  return new TarpushError('MEDIA_TYPE_UNKNOWN', `${where} is a ${mediaType}, not an image manifest or index`);
}
