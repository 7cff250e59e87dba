import { TarpushError } from '../errors.js';
import { parseIndex } from '../image/manifest.js';
import { isIndexMediaType, isManifestMediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import type { Repository } from '../registry/index.js';
import { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
import { isAttestation } from '../image/platform.js';

/** Deepest index nesting we follow (OCI layouts pushed as is nest one level; cycles are impossible by digest, but a bound is cheap). */
const MAX_DEPTH = 8;

/**
 * The image manifests an index leads to, in index order. Nested indexes are fetched and
 * walked depth first; attestation manifests and entries that are neither images nor
 * indexes (artifacts) are left out.
 */
export async function imageEntries(repo: Repository, index: FetchedManifest, where: string): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  const walk = async (doc: FetchedManifest, label: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new TarpushError('MANIFEST_INVALID', `${where}: indexes nested more than ${MAX_DEPTH} deep`);
    for (const d of parseIndex(doc.raw, label).manifests) {
      if (isIndexMediaType(d.mediaType)) {
        await walk(await fetchManifest(repo, d.digest), `${repo.name}@${d.digest}`, depth + 1);
      } else if (isManifestMediaType(d.mediaType) && !isAttestation(d)) {
        out.push(d);
      }
    }
  };
  await walk(index, where, 0);
  return out;
}
