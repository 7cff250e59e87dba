import { TarpushError } from '../errors.js';
import { parseConfig } from '../image/config.js';
import type { Digest } from '../image/digest.js';
import { parseManifest } from '../image/manifest.js';
import { formatReference, type Reference } from '../reference/index.js';
import type { Repository } from '../registry/index.js';
import { CONFIG_MAX } from './describe-remote.js';
import { fetchManifest, notAnImage, type FetchedManifest } from './fetch-manifest.js';
import { imageEntries } from './index-entries.js';
import { manifestReference, toReference, withClient, type RemoteOptions } from './open.js';
import { parsePlatform, platformMatches, platformText, selectPlatform, type PlatformSpec } from '../image/platform.js';

export interface ResolveDigestOptions extends RemoteOptions {
  /** The digest of this platform's manifest instead of the index's (`os/arch[/variant]`). */
  platform?: PlatformSpec | string;
}

/**
 * The manifest digest a reference points at — what `docker pull` would pin. For a
 * multi-platform image that is the index digest, unless a platform is asked for.
 * A HEAD answers it without a body; registries that send no Docker-Content-Digest get
 * a GET, and the digest is computed from the bytes (both in Repository.headManifest).
 */
export async function resolveDigest(ref: Reference | string, opts: ResolveDigestOptions = {}): Promise<Digest> {
  const r = toReference(ref);
  const wanted = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    if (!wanted) return headDigest(repo, r);
    const top = await fetchManifest(repo, manifestReference(r));
    return (await platformManifest(repo, top, wanted, formatReference(r))).digest;
  });
}

/**
 * HEAD the reference (the client GETs when the answer carries no digest, and checks that a
 * digest reference comes back as itself). NOT_FOUND when it does not exist.
 */
export async function headDigest(repo: Repository, r: Reference): Promise<Digest> {
  const head = await repo.headManifest(manifestReference(r));
  if (!head) {
    throw new TarpushError('NOT_FOUND', `manifest ${formatReference(r)} not found`, { registryCode: 'MANIFEST_UNKNOWN' });
  }
  return head.digest;
}

/**
 * The manifest of one platform: picked from an index (nested indexes walked), or the
 * manifest itself when its config states that platform.
 */
export async function platformManifest(repo: Repository, top: FetchedManifest, wanted: PlatformSpec, where: string): Promise<FetchedManifest> {
  if (top.kind === 'index') {
    const entry = selectPlatform(await imageEntries(repo, top, where), wanted, where);
    return fetchManifest(repo, entry.digest);
  }
  if (top.kind !== 'manifest') throw notAnImage(where, top.mediaType);
  const manifest = parseManifest(top.raw, where);
  const config = parseConfig(await repo.getBlobBytes(manifest.config.digest, CONFIG_MAX), `${where} config ${manifest.config.digest}`);
  if (!platformMatches(config.platform, wanted)) {
    throw new TarpushError('IMAGE_NOT_FOUND', `${where} is a single ${platformText(config.platform)} image, not ${platformText(wanted)}`);
  }
  return top;
}
