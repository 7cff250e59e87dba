import type { Digest } from '../image/digest.js';
import { isDigest } from '../image/digest.js';
import { isManifestMediaType } from '../image/media-types.js';
import type { Descriptor, Manifestable } from '../image/types.js';
import { readReferrersTag, type Repository } from '../registry/index.js';
import { openRegistrySource } from './registry-source.js';

/**
 * What refers to `subject` in `repo`: the OCI 1.1 referrers API, else (a registry without
 * it, distribution 2.8) the fallback tag `sha256-<hex>` that oras, regclient and tarpush
 * keep there. Only descriptors of manifests named by digest are kept: the list is the
 * registry's word, and anything else in it cannot be fetched as a referrer.
 */
export async function referrersOf(repo: Repository, subject: Digest): Promise<Descriptor[]> {
  const listed = (await repo.referrers(subject)) ?? (await readReferrersTag(repo, subject));
  const seen = new Set<string>();
  return listed.filter((d) => {
    const ok = typeof d === 'object' && d !== null && isDigest(d.digest) && typeof d.mediaType === 'string' && isManifestMediaType(d.mediaType) && !seen.has(d.digest);
    if (ok) seen.add(d.digest);
    return ok;
  });
}

/**
 * The referrers of `subject`, each opened as the model a registry source gives (an artifact,
 * or an image that names a subject), to be copied after it. A listed manifest whose own
 * `subject` is not `subject` (a stale fallback list) is not one of them and is left out.
 */
export async function openReferrers(repo: Repository, subject: Digest): Promise<Manifestable[]> {
  const out: Manifestable[] = [];
  for (const d of await referrersOf(repo, subject)) {
    const item = await openRegistrySource(repo, d.digest);
    if (item.kind !== 'index' && item.subject?.digest === subject) out.push(item);
  }
  return out;
}
