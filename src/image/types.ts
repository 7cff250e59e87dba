import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { Compression } from './media-types.js';

/** OCI platform (os/architecture/variant). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/**
 * Bytes that can be opened again and again: a byte range of an archive file, a blob file
 * in an OCI layout directory, or bytes in memory. Uploads re-open a source to retry or to
 * resume from an offset, so nothing needs to be held in memory or re-read from the start.
 */
export interface ByteSource {
  /** Number of bytes. */
  readonly size: number;
  /** Stream bytes [start, end) of the source (defaults: the whole source). */
  open(start?: number, end?: number): Readable;
  /** Where the bytes live, for error messages: `image.tar!blobs/sha256/ab…`. */
  readonly location: string;
  /**
   * Set when the bytes are a range of a file on disk: another thread can then read them
   * itself (verification reads them beside the upload instead of being fed copies).
   */
  readonly file?: { readonly path: string; readonly offset: number };
}

/** A layer as stored in the archive. */
export interface Layer {
  /** Digest and size of the stored bytes (as they would be uploaded unchanged). */
  readonly digest: Digest;
  readonly size: number;
  /** Media type the archive declares (or the writing tool would have declared). */
  readonly mediaType: string;
  /** Compression of the stored bytes, detected from magic bytes, not names. */
  readonly compression: Compression;
  /** Uncompressed digest the config's rootfs.diff_ids declares for this layer. */
  readonly diffId: Digest;
  /** The stored bytes. */
  readonly source: ByteSource;
  /** Descriptor fields to carry over unchanged (urls, annotations) when the manifest is rebuilt. */
  readonly annotations?: Record<string, string>;
  readonly urls?: string[];
}

/** A single-platform image: manifest, config and layers (oldest layer first). */
export interface Image {
  readonly kind: 'image';
  /** Manifest media type (docker v2 schema 2 or OCI image manifest). */
  readonly mediaType: string;
  /**
   * The manifest bytes as the archive holds them, or as the tool that wrote the archive
   * would have produced them (kaniko tarball: go-containerregistry's compact schema 2).
   * Pushing this unchanged keeps the digest the build reported.
   */
  readonly rawManifest: Buffer;
  readonly digest: Digest;
  /** Config descriptor and bytes (configs are small; they are held in memory). */
  readonly config: Descriptor;
  readonly rawConfig: Buffer;
  /** Layers, oldest first, matching config rootfs.diff_ids one to one. */
  readonly layers: readonly Layer[];
  /** Platform from the config (os/architecture/variant) or the index descriptor. */
  readonly platform?: Platform;
}

/**
 * A multi-platform index (OCI index or Docker manifest list).
 *
 * Guarantee of the archive readers: within one opened archive, the same digest is the same
 * object. An index that lists a child twice, nested indexes that share children, and
 * entry points that share manifests all hold the one Image / ImageIndex built for that
 * digest, so the model is a DAG (no cycles, at most MAX_MANIFESTS distinct digests, see
 * src/archive/manifest-dag.ts), not a tree. A walk over `manifests` must therefore visit
 * each digest once (a Set of digests, or of objects), or it grows with the number of paths,
 * which is exponential in the nesting.
 */
export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly rawManifest: Buffer;
  readonly digest: Digest;
  /** Children in index order, each with the descriptor the index lists. */
  readonly manifests: readonly IndexChild[];
}

export interface IndexChild {
  readonly descriptor: Descriptor;
  readonly item: Image | ImageIndex;
}

export type Manifestable = Image | ImageIndex;

/** One image (or index) an archive holds, with the names the archive gives it. */
export interface ArchiveImage {
  /** Position in the archive (manifest.json order or index.json order), from 0. */
  readonly index: number;
  /** Docker RepoTags (`repo:tag`), normalised as written in the archive. */
  readonly repoTags: readonly string[];
  /** OCI `org.opencontainers.image.ref.name` annotation, if any. */
  readonly refName?: string;
  readonly root: Manifestable;
}

export type ArchiveFormat =
  | 'kaniko' // go-containerregistry tarball.Write (kaniko --tar-path, crane pull)
  | 'docker-save' // docker save before Docker 25 (and skopeo docker-archive)
  | 'docker-save-oci' // docker save from Docker 25 on: OCI layout + manifest.json
  | 'oci-archive' // OCI image layout in a tar
  | 'oci-dir'; // OCI image layout directory

/** An opened archive. Close it to remove any spooled temp file. */
export interface Archive {
  /** The path the user gave (or `-` for stdin). */
  readonly path: string;
  readonly format: ArchiveFormat;
  /** Whether the input was gzip-compressed as a whole (and so spooled). */
  readonly gzipped: boolean;
  readonly images: readonly ArchiveImage[];
  close(): Promise<void>;
}
