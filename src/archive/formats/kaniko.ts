import type { ArchiveImage } from '../../image/types.js';
import type { ArchiveFiles } from '../files.js';
import { imagesFromManifestJson, type ManifestJsonEntry } from './manifest-json.js';

/**
 * kaniko `--tar-path` / go-containerregistry `tarball.Write` / `crane pull`:
 * manifest.json + a config entry named `sha256:<hex>` + layers named `<hex>.tar.gz`
 * (the digest of the stored, normally gzipped, bytes). No `repositories`, no `<id>/json`.
 *
 * Detection rule: every manifest.json entry names its config `sha256:<64 hex>`. Only
 * go-containerregistry writes a colon there; docker save uses `<hex>.json` (before 25) or
 * `blobs/sha256/<hex>` (25 on), skopeo `<hex>.json`. Layer names and compression are not
 * used to decide, because tarball.Write also writes uncompressed layers under `.tar.gz`.
 */
export function isKanikoManifestJson(entries: readonly ManifestJsonEntry[]): boolean {
  return entries.length > 0 && entries.every((e) => /^sha256:[a-f0-9]{64}$/.test(e.config));
}

/**
 * Images with the manifest go-containerregistry's tarball image would push: Docker v2
 * schema 2, compact JSON, layers `application/vnd.docker.image.rootfs.diff.tar.gzip`
 * (foreign layers: their LayerSources descriptor verbatim), so the digest equals the one
 * kaniko reported. Uncompressed layers (never written by kaniko) get the uncompressed
 * Docker media type and would need compression by the publisher.
 */
export function readKaniko(files: ArchiveFiles, entries: ManifestJsonEntry[]): Promise<ArchiveImage[]> {
  return imagesFromManifestJson(files, entries);
}
