import type { Readable } from 'node:stream';
import { DEFAULT_GZIP_LEVEL } from '../compress/defaults.js';
import type { ManifestFormat } from '../image/media-types.js';
import type { ClientOptions } from '../registry/index.js';
import type { DigestCache } from '../cache/digest-cache.js';
import type { PublishListener } from './events.js';
import type { ListReferrers } from './referrers.js';

export type FormatOption = 'keep' | ManifestFormat;
export type CompressionOption = 'keep' | 'gzip' | 'zstd' | 'none';

export interface PublishOptions {
  /** Archive path, OCI layout directory, or `-` for stdin; with `anySource`, any place (`reg/app:1`, `oci-archive:F`…). */
  source: string;
  /** Places to write: registry references, `oci:DIR[:tag]`, `oci-archive:FILE[:tag]`, `docker-archive:FILE[:repo:tag]`. */
  destinations: string[];
  /** Extra tags, applied in every destination repository. */
  tags?: string[];
  /** Pick one image of a multi-image archive (RepoTag, ref name or index). */
  image?: string;
  /** Push every image of the archive, each under its own tag(s). */
  all?: boolean;
  /** Limit a multi-platform index to these platforms (`os/arch[/variant]`). */
  platforms?: string[];
  format?: FormatOption;
  compression?: CompressionOption;
  compressionLevel?: number;
  /**
   * Decompress already-compressed layers while they upload to check the config's diff_ids
   * (default true). Stored digests and sizes are checked either way.
   */
  verifyDiffIds?: boolean;
  /**
   * Hash every blob an OCI layout destination already holds before trusting it (default: only
   * small ones), and read a blob a registry's image pairs with a layer even when this user's
   * cache says it was checked before.
   */
  verifyExisting?: boolean;
  /** Upload foreign (non-distributable) layers as ordinary layers; default: keep their descriptors, upload nothing. */
  allowNondistributable?: boolean;
  /** The source may be any place (a registry reference too), not only an archive path: `copy`. */
  anySource?: boolean;
  /**
   * Copy, after each manifest written, what refers to it at the source (OCI 1.1 `subject`:
   * signatures, SBOMs), recursively: `copy --referrers`. The source must list referrers (a registry).
   */
  referrers?: boolean;
  /** How publishImages finds referrers (publish() sets it from the source when `referrers` is set). */
  listReferrers?: ListReferrers;
  /**
   * Images whose layers a registry destination may already hold (`--cache-from`): what their
   * manifests and configs pair (diff_id → compressed blob) spares compressing a plain layer
   * again, when the destination holds or mounts that blob (learned-pairings.ts).
   */
  cacheFrom?: string[];
  /** How long to wait for a previous image or --cache-from to be read (default 2000 ms). */
  learnTimeoutMs?: number;
  /** Concurrent blob transfers (default 4). */
  jobs?: number;
  /** Registry client options (auth, TLS, retries). */
  client?: ClientOptions;
  /** Digest cache; `false` disables it. Default: the on-disk cache. */
  cache?: DigestCache | false;
  stdin?: Readable;
  onEvent?: PublishListener;
}

/** Defaults, in one place. */
export const publishDefaults = {
  format: 'keep' as FormatOption,
  compression: 'keep' as CompressionOption,
  compressionLevel: DEFAULT_GZIP_LEVEL,
  verifyDiffIds: true,
  jobs: 4,
};
