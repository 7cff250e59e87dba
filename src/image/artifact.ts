import { artifactTypeOf } from './config.js';
import type { Digest } from './digest.js';
import type { ParsedManifest } from './manifest.js';
import type { Artifact, ArtifactBlob, ByteSource, Descriptor } from './types.js';
import { validateArtifact } from './validate.js';

/**
 * The one way a source turns a parsed non-image manifest into the model's Artifact (the
 * registry source and the OCI layout reader both do): blobs go byte for byte with their
 * descriptors' annotations and urls; the manifest is kept as it was read.
 */

/** A blob of an artifact: its descriptor's facts and where its bytes come from. */
export function artifactBlob(d: Descriptor, source: ByteSource): ArtifactBlob {
  return {
    digest: d.digest,
    size: d.size,
    mediaType: d.mediaType,
    source,
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(d.urls?.length ? { urls: d.urls } : {}),
  };
}

/** The Artifact of a manifest read as `raw` (digest `digest`, media type `mediaType`), validated. */
export function makeArtifact(
  m: ParsedManifest,
  read: { mediaType: string; raw: Buffer; digest: Digest; rawConfig: Buffer },
  blobs: ArtifactBlob[],
  where: string,
): Artifact {
  const artifactType = artifactTypeOf(m);
  const artifact: Artifact = {
    kind: 'artifact',
    mediaType: read.mediaType,
    rawManifest: read.raw,
    digest: read.digest,
    config: m.config,
    rawConfig: read.rawConfig,
    blobs,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(m.subject ? { subject: m.subject } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
  validateArtifact(artifact, where);
  return artifact;
}
