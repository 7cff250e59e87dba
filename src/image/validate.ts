import { TarpushError } from '../errors.js';
import { isDigest, sha256 } from './digest.js';
import { isImageConfigMediaType, parseConfig } from './config.js';
import { MediaType, isManifestMediaType } from './media-types.js';
import type { Artifact, Image } from './types.js';
import { printable } from '../util/printable.js';

/**
 * Structure checks, run when an archive is opened and before any byte is uploaded: they
 * read only small JSON documents and entry sizes, never layer data. Content checks
 * (layer digests and diff_ids) are in verify.ts and run while layers stream.
 */

const layerMediaTypes = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  MediaType.ociLayerNondistributableGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MediaType.dockerLayer,
  MediaType.dockerLayerGzip,
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  MediaType.dockerForeignLayerGzip,
]);

/** Whether a layer media type is one an image runtime understands. */
export const isLayerMediaType = (m: string): boolean => layerMediaTypes.has(m);

/**
 * Foreign / non-distributable layers: registries may refuse them, and tools do not push
 * them unless asked (their descriptor `urls` say where they live).
 */
export const isForeignLayerMediaType = (m: string): boolean => m.includes('.nondistributable.') || m.includes('.foreign.');

/**
 * Whether a manifest describes a runnable image (its config is an image config) rather
 * than an artifact with a custom config type. Custom config types are only allowed in OCI
 * manifests; a Docker schema 2 manifest must carry a Docker or OCI image config.
 */
export function isImageManifestConfig(manifestMediaType: string, configMediaType: string, where: string): boolean {
  if (isImageConfigMediaType(configMediaType)) return true;
  if (manifestMediaType === MediaType.dockerManifest) {
    throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where}: config media type ${printable(JSON.stringify(configMediaType))} is not an image config`, {
      entry: where,
    });
  }
  return false;
}

export function checkLayerMediaType(mediaType: string, where: string, field: string): void {
  if (!isLayerMediaType(mediaType)) {
    throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where}: ${field} has unknown layer media type ${printable(JSON.stringify(mediaType))}`, {
      entry: where,
      field,
    });
  }
}

export function checkManifestMediaType(mediaType: string, where: string): void {
  if (!isManifestMediaType(mediaType)) {
    throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${where}: unknown manifest media type ${printable(JSON.stringify(mediaType))}`, { entry: where });
  }
}

/** config rootfs.diff_ids must list one diff_id per layer. */
export function checkLayerCount(layers: number, diffIds: number, where: string): void {
  if (layers !== diffIds) {
    throw new TarpushError(
      'LAYER_COUNT_MISMATCH',
      `${where}: the manifest lists ${layers} layer(s) but the config's rootfs.diff_ids lists ${diffIds}`,
      { entry: where },
    );
  }
}

export function checkHasLayers(layers: number, where: string): void {
  if (layers === 0) throw new TarpushError('IMAGE_NO_LAYERS', `${where}: the image has no layers`, { entry: where });
}

/** A blob whose size in the archive differs from what its descriptor says. */
export function checkSize(expected: number, actual: number, where: string): void {
  if (expected !== actual) {
    throw new TarpushError('SIZE_MISMATCH', `${where}: descriptor says ${expected} bytes, the archive holds ${actual}`, {
      entry: where,
      expected: String(expected),
      actual: String(actual),
    });
  }
}

/** Bytes in hand (JSON documents) whose digest must be what the descriptor or name says. */
export function checkBytesDigest(bytes: Buffer, expected: string, where: string): void {
  const actual = sha256(bytes);
  if (actual !== expected) {
    throw new TarpushError('DIGEST_MISMATCH', `${where}: expected digest ${expected}, content has ${actual}`, {
      entry: where,
      expected,
      actual,
    });
  }
}

/** Manifest media type, manifest digest, config digest and size: what images and artifacts share. */
function checkManifestAndConfig(item: Image | Artifact, where: string): void {
  checkManifestMediaType(item.mediaType, where);
  checkBytesDigest(item.rawManifest, item.digest, `${where} (manifest)`);
  if (!isDigest(item.config.digest)) {
    throw new TarpushError('MANIFEST_INVALID', `${where}: config digest ${printable(JSON.stringify(item.config.digest))} is not a sha256 digest`, { entry: where });
  }
  checkSize(item.config.size, item.rawConfig.length, `${where} (config)`);
  checkBytesDigest(item.rawConfig, item.config.digest, `${where} (config)`);
}

function checkBlobDescriptor(b: { digest: string; size: number }, i: number, field: string, where: string): void {
  if (!isDigest(b.digest)) {
    throw new TarpushError('MANIFEST_INVALID', `${where}: ${field}[${i}] digest ${printable(JSON.stringify(b.digest))} is not a sha256 digest`, { entry: where });
  }
  if (!Number.isSafeInteger(b.size) || b.size < 0) {
    throw new TarpushError('MANIFEST_INVALID', `${where}: ${field}[${i}] size ${b.size} is not a byte count`, { entry: where });
  }
}

/**
 * Check a whole image's structure. `where` names the archive and entry it came from
 * (`image.tar!manifest.json[0]`). Readers run this on every image they produce; it costs
 * two small hashes and a config parse.
 */
export function validateImage(image: Image, where: string): void {
  checkManifestAndConfig(image, where);
  image.layers.forEach((layer, i) => checkBlobDescriptor(layer, i, 'layers', where));
  if (!isImageManifestConfig(image.mediaType, image.config.mediaType, where)) return; // no rootfs to check

  const config = parseConfig(image.rawConfig, `${where} (config ${image.config.digest})`);
  checkHasLayers(image.layers.length, where);
  checkLayerCount(image.layers.length, config.diffIds.length, where);
  image.layers.forEach((layer, i) => {
    checkLayerMediaType(layer.mediaType, where, `layers[${i}]`);
    if (layer.diffId !== config.diffIds[i]) {
      throw new TarpushError(
        'DIFF_ID_MISMATCH',
        `${where}: layers[${i}] claims diff_id ${layer.diffId}, the config lists ${config.diffIds[i]}`,
        { entry: where, expected: config.diffIds[i], actual: layer.diffId },
      );
    }
  });
}

/**
 * Check an artifact's structure: manifest and config as for images; blobs need only be
 * well-formed descriptors (any media type, no rootfs, no diff_ids; an artifact may have
 * no blobs at all). Their bytes are checked by digest and size when they are read.
 */
export function validateArtifact(artifact: Artifact, where: string): void {
  checkManifestAndConfig(artifact, where);
  artifact.blobs.forEach((b, i) => checkBlobDescriptor(b, i, 'layers', where));
}
