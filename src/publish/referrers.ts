import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ArchiveImage, Manifestable } from '../image/types.js';
import type { Place } from '../places/open-sink.js';
import type { PlannedTarget } from './plan.js';
import { uploadContent, type PlaceUploads, type PreparedManifest } from './upload-content.js';

/** Referrers of referrers are followed this deep (a signature of an SBOM of an image is 2). */
export const MAX_REFERRER_DEPTH = 4;
/** Referrers one publish copies into one place at most. */
export const MAX_REFERRERS = 256;

/** What refers to a manifest, as the source lists it (`SourceImages.referrers`). */
export type ListReferrers = (subject: Digest) => Promise<readonly Manifestable[]>;

interface Written {
  t: PlannedTarget;
  open: { place: Place; uploads: PlaceUploads };
  manifest: PreparedManifest;
}

/**
 * `copy --referrers`: for every manifest written into a place (each image, index and index
 * child), what refers to it at the source is uploaded into the same place (its blobs now,
 * its manifest by digest in the tag phase's referrer wave), and what refers to those in
 * turn, MAX_REFERRER_DEPTH deep. Only what was written is followed: a manifest rewritten on
 * the way (an index filtered by --platform, a --format change) has a digest nothing at the
 * source refers to. A place that holds images only (docker-archive) gets none, with a note.
 */
export async function uploadReferrers(written: readonly Written[], list: ListReferrers, note: (message: string) => void): Promise<Written[]> {
  const listed = new Map<Digest, Promise<readonly Manifestable[]>>();
  const listOnce = (d: Digest) => {
    let p = listed.get(d);
    if (!p) listed.set(d, (p = list(d)));
    return p;
  };
  const byPlace = new Map<Written['open'], Written[]>();
  for (const w of written) byPlace.set(w.open, [...(byPlace.get(w.open) ?? []), w]);
  const out: Written[] = [];
  for (const [open, mine] of byPlace) {
    const children = await Promise.all(open.uploads.children.values());
    const done = new Set<Digest>([...mine.map((w) => w.manifest.digest), ...children.map((c) => c.digest)]);
    const dest = mine[0]!.t.dest;
    let frontier = [...done];
    let skipped = 0;
    let count = 0;
    for (let depth = 0; depth < MAX_REFERRER_DEPTH && frontier.length > 0; depth++) {
      const next: Digest[] = [];
      for (const subject of frontier) {
        for (const r of await listOnce(subject)) {
          if (done.has(r.digest)) continue;
          done.add(r.digest);
          if (open.place.imagesOnly) {
            skipped++;
            continue;
          }
          if (++count > MAX_REFERRERS) {
            throw new TarpushError('MANIFEST_INVALID', `${open.place.name}: the copied manifests have more than ${MAX_REFERRERS} referrers`);
          }
          const manifest = await uploadContent(r, open.uploads);
          const image: ArchiveImage = { index: -1, repoTags: [], root: r };
          out.push({ t: { image, dest, tags: [] }, open, manifest });
          next.push(manifest.digest);
        }
      }
      frontier = next;
    }
    if (skipped > 0) note(`${open.place.name} holds images only: ${skipped} referrer(s) of the copied manifests, and what refers to them, not written`);
  }
  return out;
}
