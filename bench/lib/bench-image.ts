/**
 * The generated bench image as make-image leaves it on disk, described in `image.json` next
 * to the files: push.ts reads this description instead of re-parsing the archives.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Bump when make-image changes what it writes: old caches are then rebuilt. */
export const GENERATOR_VERSION = 1;

export type ArchiveFormat = 'kaniko' | 'oci-archive' | 'docker-save';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['kaniko', 'oci-archive', 'docker-save'];

/** What the image was made from; a cached image is reused only if this matches exactly. */
export interface Stamp {
  generator: number;
  mb: number;
  /** Per layer: the /usr directory and how many of its bytes were taken (file sizes). */
  sources: { dir: string; fileBytes: number; files: number; whole: boolean }[];
}

export interface BlobFile {
  /** Absolute path of a file holding exactly the blob's bytes. */
  file: string;
  digest: string;
  size: number;
}

export interface BenchLayer {
  dir: string;
  /** The plain layer tar; its digest is the diff_id. */
  tar: BlobFile;
  /** `gzip -6 -n` of the tar: the blob kaniko and oci-archive carry. */
  gz: BlobFile;
}

export interface BenchArchive {
  format: ArchiveFormat;
  file: string;
  size: number;
  /** skopeo source transport for this archive. */
  skopeoSource: string;
  /**
   * Manifest digest a faithful push must produce (kaniko: go-containerregistry's schema 2
   * manifest; oci-archive: the archive's own manifest); undefined where the pusher builds a
   * new one (docker-save: layers are compressed on the way).
   */
  expectedDigest?: string;
}

export interface BenchImage {
  stamp: Stamp;
  dir: string;
  layers: BenchLayer[];
  config: BlobFile;
  /** Docker schema 2 manifest of the gzip layers (what go-containerregistry pushes for kaniko). */
  dockerManifest: BlobFile;
  /** OCI manifest of the gzip layers (the one inside oci-archive.tar). */
  ociManifest: BlobFile;
  archives: Record<ArchiveFormat, BenchArchive>;
  uncompressedBytes: number;
  gzipBytes: number;
}

export const imageJsonPath = (dir: string): string => path.join(dir, 'image.json');

/** The image in `dir` if its description exists and every file it names still has its size. */
export function readBenchImage(dir: string): BenchImage | undefined {
  const file = imageJsonPath(dir);
  if (!existsSync(file)) return undefined;
  let image: BenchImage;
  try {
    image = JSON.parse(readFileSync(file, 'utf8')) as BenchImage;
  } catch {
    return undefined;
  }
  if (image.stamp?.generator !== GENERATOR_VERSION) return undefined;
  const files: { file: string; size: number }[] = [
    ...image.layers.flatMap((l) => [l.tar, l.gz]),
    image.config,
    image.dockerManifest,
    image.ociManifest,
    ...Object.values(image.archives),
  ];
  for (const f of files) {
    try {
      if (statSync(f.file).size !== f.size) return undefined;
    } catch {
      return undefined;
    }
  }
  return image;
}
