import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { formatReference, repositoryName, withTag, type Reference } from '../reference/index.js';
import { limit } from '../util/limit.js';
import { ACCEPT_ANY, fetchManifest } from './fetch-manifest.js';
import { manifestReference, toReference, withClient, type RemoteOptions } from './open.js';

/**
 * Manifest PUTs at once by default: every tag of a tagging script's usual call in one round
 * trip, as a push writes its tags (publish/write-tags.ts); a bound still, for lists of hundreds.
 */
export const ADD_TAGS_CONCURRENCY = 32;

export interface AddTagsOptions extends RemoteOptions {
  /** Manifest PUTs at once (default ADD_TAGS_CONCURRENCY). */
  concurrency?: number;
}

export interface TaggedReference {
  tag: string;
  /** `registry/repository:tag@sha256:…` */
  reference: string;
  digest: Digest;
}

export interface FailedTag {
  tag: string;
  error: unknown;
}

export interface AddTagsResult {
  /** The manifest that was tagged: digest and media type as the registry served it. */
  digest: Digest;
  mediaType: string;
  /** Tags written, in the order asked for. */
  tagged: TaggedReference[];
  /** Tags that could not be written (the others were still tried). */
  failed: FailedTag[];
}

/**
 * Point more tags at the manifest `ref` names, in the same repository: the manifest is read
 * once, exactly as stored (any media type, no conversion), and the same bytes are PUT under
 * each tag, so the digest cannot change and no blob moves. Every tag is tried; the result
 * says which failed. Tags are checked before anything is sent (REFERENCE_INVALID).
 */
export async function addTags(ref: Reference | string, tags: readonly string[], opts: AddTagsOptions = {}): Promise<AddTagsResult> {
  const r = toReference(ref);
  const wanted = [...new Set(tags)];
  if (wanted.length === 0) throw new TarpushError('USAGE', `no tag given to add to ${formatReference(r)}`);
  for (const tag of wanted) withTag(r, tag); // validates; throws REFERENCE_INVALID naming the tag
  const name = repositoryName(r);
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository, { push: true });
    const source = await fetchManifest(repo, manifestReference(r), ACCEPT_ANY);
    const run = limit(opts.concurrency ?? ADD_TAGS_CONCURRENCY);
    const outcomes = await Promise.allSettled(
      wanted.map((tag) =>
        run(async (): Promise<TaggedReference> => {
          const digest = await repo.putManifest(tag, source.raw, source.mediaType);
          if (digest !== source.digest) {
            throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `tag ${name}:${tag}: the registry stored digest ${digest}, the manifest is ${source.digest}`, {
              expected: source.digest,
              actual: digest,
            });
          }
          return { tag, reference: `${name}:${tag}@${source.digest}`, digest: source.digest };
        }),
      ),
    );
    const result: AddTagsResult = { digest: source.digest, mediaType: source.mediaType, tagged: [], failed: [] };
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') result.tagged.push(o.value);
      else result.failed.push({ tag: wanted[i]!, error: o.reason });
    });
    return result;
  });
}
