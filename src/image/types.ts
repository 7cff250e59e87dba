import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { ArchiveCompression } from '../compress/detect.js';
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
  /**
   * A foreign / non-distributable layer (`…nondistributable…` or `…foreign…` media type):
   * registries may refuse it, and publishers do not upload it unless asked; the manifest
   * keeps its descriptor (urls included).
   */
  readonly foreign?: boolean;
  /**
   * Its bytes are not in the archive (a foreign layer listed by descriptor and urls only).
   * `source.open()` then yields a stream that fails with ARCHIVE_ENTRY_MISSING naming it.
   */
  readonly absent?: boolean;
  /**
   * false when nothing declares this layer's uncompressed digest (no rootfs.diff_ids to
   * check against); `diffId` is then the stored digest. Absent means declared.
   */
  readonly diffIdDeclared?: boolean;
  /** Where a registry source read it: a sink on the same registry can mount it from there. */
  readonly mountFrom?: MountFrom;
}

/** A registry repository that holds a blob (cross-repository mounts). */
export interface MountFrom {
  readonly registry: string;
  readonly repository: string;
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
  /** The manifest's `subject` (OCI 1.1: this image refers to another manifest). */
  readonly subject?: Descriptor;
  /** Where a registry source read it (its config can be mounted from there). */
  readonly mountFrom?: MountFrom;
}

/** A blob of an artifact manifest (its `layers`): any media type, pushed byte for byte. */
export interface ArtifactBlob {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly source: ByteSource;
  readonly annotations?: Record<string, string>;
  readonly urls?: string[];
}

/**
 * A manifest that is not a runnable image: its config is not an image config (the empty
 * config `application/vnd.oci.empty.v1+json` or any other non-image type), or it sets
 * `artifactType`, or it is a BuildKit attestation manifest (SBOMs, signatures, provenance).
 * Its blobs are checked by digest and size only (no rootfs, no diff_ids, not tars) and
 * must be published unchanged: the manifest bytes are `rawManifest`, never rebuilt.
 */
export interface Artifact {
  readonly kind: 'artifact';
  /** Manifest media type (OCI image manifest; Docker schema 2 for attestations some tools write). */
  readonly mediaType: string;
  readonly rawManifest: Buffer;
  readonly digest: Digest;
  /** The manifest's `artifactType`, else (OCI 1.1 rule) the config media type unless it is the empty config. */
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly rawConfig: Buffer;
  readonly blobs: readonly ArtifactBlob[];
  /** The manifest this artifact refers to (a signature's or SBOM's image). */
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;
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
  /** The descriptor the index lists, byte for byte. */
  readonly descriptor: Descriptor;
  /**
   * The manifest, or undefined when the archive does not carry it: the index lists it but
   * its blob is absent (Docker 29's containerd store saves a multi-platform image's whole
   * index but only the host platform's blobs). Such an entry is "not carried": it is not
   * an error to read, but it cannot be published, nor can an index that requires it.
   */
  readonly item: Manifestable | undefined;
}

export type Manifestable = Image | ImageIndex | Artifact;

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
  /** How the input was compressed as a whole (anything but `none` was decompressed into a spool file). */
  readonly compression: ArchiveCompression;
  readonly images: readonly ArchiveImage[];
  close(): Promise<void>;
}
