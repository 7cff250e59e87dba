import type { Digest } from './digest.js';
import { Shape } from './json-shape.js';
import { parseDigestField } from './manifest.js';
import { MediaType } from './media-types.js';
import type { Platform } from './types.js';

/**
 * Image configs: only the fields the publisher needs (layer diff_ids, platform). The raw
 * bytes are what gets pushed; nothing here re-serialises a config.
 */

export interface ParsedConfig {
  /** rootfs.diff_ids: uncompressed layer digests, oldest first. */
  diffIds: Digest[];
  /** os/architecture/variant, when the config states them. */
  platform?: Platform;
}

/** Config media types that describe a runnable image (anything else is an artifact's config). */
export const isImageConfigMediaType = (m: string): boolean => m === MediaType.ociConfig || m === MediaType.dockerConfig;

/** Parse an image config; CONFIG_INVALID names `where` and the field. */
export function parseConfig(raw: Buffer | string, where: string): ParsedConfig {
  const s = new Shape('CONFIG_INVALID', where);
  const o = s.object(s.parse(raw, 'config'), '');
  const rootfs = s.object(o.rootfs, 'rootfs');
  if (rootfs.type !== undefined && rootfs.type !== 'layers') s.fail('rootfs.type', `must be "layers", got ${JSON.stringify(rootfs.type)}`);
  // Docker writes `"diff_ids": null` for an image without layers.
  const diffIds = rootfs.diff_ids === null ? [] : s.array(rootfs.diff_ids, 'rootfs.diff_ids').map((d, i) => parseDigestField(s, d, `rootfs.diff_ids[${i}]`));

  const os = s.optString(o.os, 'os');
  const architecture = s.optString(o.architecture, 'architecture');
  const variant = s.optString(o.variant, 'variant');
  const osVersion = s.optString(o['os.version'], 'os.version');
  const out: ParsedConfig = { diffIds };
  if (os || architecture) {
    const platform: Platform = { os: os ?? '', architecture: architecture ?? '' };
    if (variant) platform.variant = variant;
    if (osVersion) platform['os.version'] = osVersion;
    out.platform = platform;
  }
  return out;
}

/**
 * An artifact manifest's type (OCI 1.1): its `artifactType`, else its config's media type
 * unless that is an image config or the empty config.
 */
export function artifactTypeOf(m: { artifactType?: string; config: { mediaType: string } }): string | undefined {
  return m.artifactType ?? (isImageConfigMediaType(m.config.mediaType) || m.config.mediaType === MediaType.ociEmpty ? undefined : m.config.mediaType);
}
