import type { ArchiveImage } from '../../image/types.js';
import type { ArchiveFiles } from '../files.js';
import { imagesFromManifestJson, type ManifestJsonEntry } from './manifest-json.js';

/**
 * `docker save` before Docker 25, and skopeo's `docker-archive:`: manifest.json with
 * `Config: "<hex>.json"` and `Layers: ["<id>/layer.tar" …]` (skopeo: `<hex>.tar`, with
 * `<id>/layer.tar` kept as symlinks), plus legacy `repositories`, `<id>/json`, `<id>/VERSION`.
 *
 * Layers are normally uncompressed tars: their stored digest is the config's diff_id, so
 * nothing is read to know it (verification during upload confirms it). A layer that is
 * gzip or zstd (detected by magic bytes) is hashed once when the archive is opened,
 * because nothing in the archive states its digest.
 *
 * The manifest is built as Docker v2 schema 2 with the layer media type matching each
 * layer's compression (`…rootfs.diff.tar` for uncompressed). A publish that compresses
 * uncompressed layers patches these bytes with the new descriptors (publish/rewrite-manifest.ts
 * rewriteManifest), keeping every other field.
 */
export function readDockerSave(files: ArchiveFiles, entries: ManifestJsonEntry[]): Promise<ArchiveImage[]> {
  return imagesFromManifestJson(files, entries);
}
