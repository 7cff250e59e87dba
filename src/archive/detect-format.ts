import { TarpushError } from '../errors.js';
import type { ArchiveFormat } from '../image/types.js';
import type { ArchiveFiles } from './files.js';
import { isKanikoManifestJson } from './formats/kaniko.js';
import { MANIFEST_JSON, readManifestJson, type ManifestJsonEntry } from './formats/manifest-json.js';
import { OCI_LAYOUT } from './formats/oci-layout.js';
import { printable } from '../util/printable.js';

export interface DetectedFormat {
  format: Exclude<ArchiveFormat, 'oci-dir'>;
  /** Parsed manifest.json, when the archive has one. */
  manifestJson?: ManifestJsonEntry[];
}

/**
 * Which writer produced a tar, from the entries present (never from the file name):
 *   `oci-layout` + manifest.json → docker save, Docker 25+ (docker-save-oci)
 *   `oci-layout` alone           → OCI layout archive (oci-archive)
 *   manifest.json, configs named `sha256:<hex>` → go-containerregistry / kaniko (kaniko)
 *   manifest.json otherwise      → docker save before 25, skopeo docker-archive (docker-save)
 */
export async function detectFormat(files: ArchiveFiles): Promise<DetectedFormat> {
  const hasLayout = await files.exists(OCI_LAYOUT);
  const hasManifestJson = (await files.find(MANIFEST_JSON)) !== undefined;
  if (hasLayout && hasManifestJson) return { format: 'docker-save-oci', manifestJson: await readManifestJson(files) };
  if (hasLayout) return { format: 'oci-archive' };
  if (hasManifestJson) {
    const manifestJson = await readManifestJson(files);
    return { format: isKanikoManifestJson(manifestJson) ? 'kaniko' : 'docker-save', manifestJson };
  }
  const names = await files.sampleNames(8);
  throw new TarpushError(
    'ARCHIVE_FORMAT_UNKNOWN',
    `${files.label} is a tar but not an image archive we know: no manifest.json and no oci-layout (entries: ${names.map((n) => printable(JSON.stringify(n))).join(', ') || 'none'})`,
    { file: files.label },
  );
}
