import { TarpushError } from '../errors.js';
import { parseIndex } from '../image/manifest.js';
import { isIndexMediaType, isManifestMediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import type { Repository } from '../registry/index.js';
import { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
import { isAttestation } from '../image/platform.js';
import { MAX_INDEX_DEPTH } from '../archive/manifest-dag.js';

/** Deepest index nesting we follow: the archive readers' bound, so what one reads the other reads. */
const MAX_DEPTH = MAX_INDEX_DEPTH;
/** Distinct indexes fetched for one walk: a hostile registry must not make it grow without bound. */
const MAX_INDEXES = 1000;

/**
 * The image manifests an index leads to, in index order. Nested indexes are fetched and
 * walked depth first; attestation manifests and entries that are neither images nor
 * indexes (artifacts) are left out. Each digest is visited once, however many indexes
 * name it (shared children would otherwise multiply the walk), and each image listed once.
 */
export async function imageEntries(repo: Repository, index: FetchedManifest, where: string): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  const seen = new Set<string>([index.digest]);
  const walk = async (doc: FetchedManifest, label: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new TarpushError('MANIFEST_INVALID', `${where}: indexes nested more than ${MAX_DEPTH} deep`);
    for (const d of parseIndex(doc.raw, label).manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (isIndexMediaType(d.mediaType)) {
        if (seen.size > MAX_INDEXES) throw new TarpushError('MANIFEST_INVALID', `${where}: more than ${MAX_INDEXES} manifests under one index`);
        await walk(await fetchManifest(repo, d.digest), `${repo.name}@${d.digest}`, depth + 1);
      } else if (isManifestMediaType(d.mediaType) && !isAttestation(d)) {
        out.push(d);
      }
    }
  };
  await walk(index, where, 0);
  return out;
}
