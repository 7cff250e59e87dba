import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { discard, readJson } from './body.js';
import { safeUrl } from './errors.js';
import { nextLink } from './pagination.js';
import type { Repository } from './repository.js';
import { pullScope } from './scope.js';

/**
 * The OCI referrers API: `GET /v2/<name>/referrers/<digest>[?artifactType=]`. A registry
 * without it answers 404 (distribution 2.8): undefined. A registry that ignores the filter
 * (no `OCI-Filters-Applied: artifactType`) is filtered here.
 */
export async function listReferrers(repo: Repository, digest: Digest, artifactType?: string): Promise<Descriptor[] | undefined> {
  const base = await repo.client.baseUrl();
  let url: URL | undefined = new URL(repo.apiPath(`referrers/${digest}`), base);
  if (artifactType !== undefined) url.searchParams.set('artifactType', artifactType);
  const what = `referrers of ${repo.name}@${digest}`;
  const out: Descriptor[] = [];
  const seen = new Set<string>();
  let first = true;
  while (url && !seen.has(url.href)) {
    seen.add(url.href);
    const resp = await repo.client.request({
      method: 'GET',
      url,
      scopes: [pullScope(repo.repository)],
      headers: { accept: MediaType.ociIndex },
      what,
    });
    if (first && resp.status === 404) {
      await discard(resp);
      return undefined;
    }
    first = false;
    if (resp.status !== 200) throw await repo.client.failure(resp, what, 'GET');
    const filtered = String(resp.headers['oci-filters-applied'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .includes('artifactType');
    const next = nextLink(resp.headers.link, resp.url);
    const index = await readJson<{ manifests?: unknown }>(resp, 16 << 20, what);
    if (!Array.isArray(index.manifests)) {
      throw new TarpushError('REGISTRY_ERROR', `${what}: the answer is not an index with "manifests"`, { url: safeUrl(resp.url) });
    }
    for (const d of index.manifests as Descriptor[]) {
      if (artifactType !== undefined && !filtered && d.artifactType !== artifactType) continue;
      out.push(d);
    }
    url = next;
  }
  return out;
}

/** The OCI 1.1 fallback tag that lists the referrers of `subject`: `sha256-<hex>`. */
export const referrersTag = (subject: Digest): string => subject.replace(':', '-');

/**
 * Record `referrer` as referring to `subject` where the registry has no referrers API: the
 * fallback tag holds an image index of the referrers' descriptors, read, extended (no
 * duplicates) and written back, as oras and regclient keep it. A registry with the API
 * tracks `subject` itself: nothing to do. Resolves with what was done.
 */
export async function recordReferrer(repo: Repository, subject: Digest, referrer: Descriptor): Promise<'api' | 'tag' | 'present'> {
  if ((await listReferrers(repo, subject)) !== undefined) return 'api';
  const manifests = await readReferrersTag(repo, subject);
  if (manifests.some((d) => d.digest === referrer.digest)) return 'present';
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests, referrer] };
  await repo.putManifest(referrersTag(subject), Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
  return 'tag';
}

/** The descriptors the fallback tag of `subject` lists (none when there is no such tag). */
export async function readReferrersTag(repo: Repository, subject: Digest): Promise<Descriptor[]> {
  const tag = referrersTag(subject);
  if (!(await repo.headManifest(tag))) return [];
  const current = await repo.getManifest(tag, { accept: [MediaType.ociIndex] });
  const doc = JSON.parse(current.raw.toString('utf8')) as { manifests?: unknown };
  if (!Array.isArray(doc.manifests)) {
    throw new TarpushError('REGISTRY_ERROR', `${repo.name}:${tag} (the referrers list of ${subject}) is not an image index`);
  }
  return doc.manifests as Descriptor[];
}
