import { TarpushError, isTarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { isIndexMediaType } from '../image/media-types.js';
import type { PublishListener } from './events.js';
import type { Place } from '../places/open-sink.js';
import type { PreparedManifest } from './upload-content.js';

/** One tag of one destination, after the tag phase. */
export interface TagOutcome {
  tag: string;
  /** `reg/repo:tag` or `oci:/dir:tag`. */
  reference: string;
  /** The tag now resolves to our manifest. */
  live: boolean;
}

export interface TagJob {
  place: Place;
  tag: string;
  manifest: PreparedManifest;
}

/**
 * Write a manifest under a tag (or by digest) and check what the place reports. The
 * registry client retries the PUT like any idempotent request; when it still fails, the
 * answer may have been lost after the registry stored it, so the place is asked (HEAD)
 * whether the tag holds our digest before the write counts as failed.
 */
export async function writeManifest(place: Place, reference: string, m: PreparedManifest, emit: PublishListener): Promise<void> {
  try {
    const digest = await place.sink.putManifest(reference, m.raw, m.mediaType);
    if (digest !== m.digest) {
      throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `${place.reference(reference)}: stored manifest digest ${digest}, expected ${m.digest}`, { expected: m.digest, actual: digest });
    }
  } catch (err) {
    if (isTarpushError(err) && refusedForForeign(err, m)) throw foreignRefused(place, reference, m, err);
    if (isTarpushError(err, 'REGISTRY_DIGEST_MISMATCH') || !(await holds(place, reference, m.digest))) throw err;
    emit({ type: 'note', message: `${place.reference(reference)}: the write's answer was lost, but the place holds ${m.digest}` });
  }
  emit({ type: 'manifest', place: place.name, reference, digest: m.digest, mediaType: m.mediaType });
}

/**
 * Distribution accepts a foreign layer's descriptor only with http(s) urls its configuration
 * allows, and answers MANIFEST_BLOB_UNKNOWN otherwise: say which layer, and the way out.
 */
/** distribution answers MANIFEST_BLOB_UNKNOWN naming the layer (among other errors, with a 500 or a 400). */
const refusedForForeign = (err: TarpushError, m: PreparedManifest): boolean =>
  !!m.foreign?.length && (err.details.registryCode === 'MANIFEST_BLOB_UNKNOWN' || err.message.includes('MANIFEST_BLOB_UNKNOWN')) && m.foreign.some((d) => err.message.includes(d.digest));

function foreignRefused(place: Place, reference: string, m: PreparedManifest, cause: TarpushError): TarpushError {
  const layers = m.foreign!.map((d) => `${d.digest}${d.urls?.length ? ` (urls ${d.urls.join(' ')})` : ' (no urls)'}`).join(', ');
  return new TarpushError(
    'REGISTRY_ERROR',
    `${place.reference(reference)}: the registry refused the manifest for its foreign layer ${layers}, which tarpush does not upload; --allow-nondistributable-artifacts uploads it as an ordinary layer (the manifest digest then changes)`,
    { ...cause.details },
    { cause },
  );
}

async function holds(place: Place, reference: string, digest: Digest): Promise<boolean> {
  if (!place.sink.headManifest) return false;
  try {
    return (await place.sink.headManifest(reference))?.digest === digest;
  } catch {
    return false;
  }
}

/**
 * The last step: every tag, concurrently. Tags cannot be written atomically across a
 * registry, so when one still fails the error says exactly which tags are live and which
 * are not (`details.tags`), and callers report it; nothing is rolled back, since deleting a
 * tag in a registry means deleting the manifest under every other name too.
 */
export async function writeTags(jobs: readonly TagJob[], emit: PublishListener): Promise<TagOutcome[]> {
  // In waves: manifests first, then indexes, then manifests that refer to another (`subject`).
  // A registry checks an index's children and may check a subject; a child being written
  // again (under its own tag) while its index is checked was seen to fail (distribution 2.8).
  const wave = (m: PreparedManifest): number => (m.subject ? 2 : isIndexMediaType(m.mediaType) ? 1 : 0);
  const settled: PromiseSettledResult<void>[] = new Array(jobs.length);
  for (const w of [0, 1, 2]) {
    const here = jobs.flatMap((j, i) => (wave(j.manifest) === w ? [i] : []));
    const done = await Promise.allSettled(here.map((i) => writeManifest(jobs[i]!.place, jobs[i]!.tag, jobs[i]!.manifest, emit)));
    here.forEach((i, k) => (settled[i] = done[k]!));
  }
  const outcomes = jobs.map((j, i) => ({ tag: j.tag, reference: j.place.reference(j.tag), live: settled[i]!.status === 'fulfilled' }));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ job: jobs[i]!, reason: s.reason as unknown }] : []));
  if (failed.length === 0) return outcomes;
  const first = failed[0]!;
  const live = outcomes.filter((o) => o.live).map((o) => o.reference);
  const notLive = outcomes.filter((o) => !o.live).map((o) => o.reference);
  const why = first.reason instanceof Error ? (isTarpushError(first.reason) ? first.reason.toLine() : first.reason.message) : String(first.reason);
  throw new TarpushError(
    'TAGS_INCOMPLETE',
    `${notLive.length} of ${outcomes.length} tags not written (${notLive.join(', ')}); live: ${live.length ? live.join(', ') : 'none'}; first failure: ${why}`,
    { tags: outcomes },
    { cause: first.reason },
  );
}
