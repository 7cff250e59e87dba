import type { DigestCache } from '../cache/digest-cache.js';
import type { Digest } from '../image/digest.js';
import { layerMediaType } from '../image/media-types.js';
import type { PlatformSpec } from '../image/platform.js';
import type { ByteSource, MountFrom } from '../image/types.js';
import type { Place } from '../places/open-sink.js';
import type { Reference } from '../reference/index.js';
import { clientFor, type ClientOptions } from '../registry/index.js';
import { registryBlobSource } from '../remote/blob-source.js';
import { claimedPairs, type ClaimedPair } from '../remote/previous-image.js';
import { printable } from '../util/printable.js';
import type { PublishListener } from './events.js';
import type { LayerChecks } from './layer-checks.js';

/**
 * Where a fresh machine learns that a destination already holds a compressed form of a plain
 * layer, so it need not compress it (a CI runner's digest cache is empty on every run, the
 * registry has held the base layers since the last release). Cheapest first: pairs this
 * user's cache remembers; the image now at the destination's tags (the previous release);
 * the images `--cache-from` names. Each is read once per publish, on first need, and only
 * for so long (a previous tag that is slow or absent is "nothing learned").
 *
 * A pairing is the registry's claim. It names a blob only when the destination holds it
 * (HEAD, with its size) or mounts it; and unless the user opted out (--no-verify-diff-ids)
 * the blob is read once and must decompress to the diff_id (our config's diff_ids come from
 * our archive: a wrong pairing would publish a broken image). A pair proven so is remembered
 * as verified, so the same user checks it once. Reads use the registry's own client: a
 * `--cache-from` on another registry only names digests, asked about at the destination.
 */

/** How long a publish waits for an image to say what it holds before compressing anyway. */
export const DEFAULT_LEARN_TIMEOUT_MS = 2000;

export interface PairingCandidate {
  digest: Digest;
  size: number;
  /** A repository of the destination's registry holding it (a mount source). */
  mountFrom?: MountFrom;
  /** The blob's bytes, to check the claim. */
  source: ByteSource;
  /** Where the claim came from, for messages. */
  origin: string;
}

export interface LearnOptions {
  client: ClientOptions;
  cache?: DigestCache;
  /** Images named by --cache-from. */
  cacheFrom: readonly Reference[];
  /** Platforms of the images published (an index's matching children are read). */
  platforms: readonly PlatformSpec[];
  /** Tags written per place (by place name): the previous image is what they hold now. */
  tagsAt: ReadonlyMap<string, readonly string[]>;
  timeoutMs?: number;
  /** Check a claim by reading the blob (false: --no-verify-diff-ids, the user opted out). */
  verify: boolean;
  /** Check it even when this user's cache says it was proven (--verify). */
  reverify: boolean;
  checks: LayerChecks;
  emit: PublishListener;
}

type Learning = Promise<ClaimedPair[]>;

export class LearnedPairings {
  private readonly reads = new Map<string, Learning>();
  private readonly proofs = new Map<string, Promise<boolean>>();

  constructor(private readonly o: LearnOptions) {}

  /**
   * Blobs that may hold `diffId` in `compression` at `place`, cheapest first: the cache's
   * (no request), then, awaited on first use, what the registries' images claim.
   */
  async *candidates(place: Place, diffId: Digest, compression: 'gzip' | 'zstd'): AsyncGenerator<PairingCandidate> {
    const { registry, repository } = place;
    if (!registry || !repository) return;
    const seen = new Set<Digest>();
    const here = () => clientFor(registry, this.o.client).repository(repository);
    for (const c of this.o.cache?.claimed(diffId, compression) ?? []) {
      seen.add(c.digest);
      yield { digest: c.digest, size: c.size, source: registryBlobSource(here(), c.digest, c.size), origin: 'the digest cache' };
    }
    const learnt = await Promise.all([
      ...(this.o.tagsAt.get(place.name) ?? []).map((tag) => this.read({ registry, repository, reference: tag }, false)),
      ...this.o.cacheFrom.map((r) => this.read({ registry: r.registry, repository: r.repository, reference: r.digest ?? r.tag ?? 'latest' }, true)),
    ]);
    for (const p of learnt.flat()) {
      if (p.diffId !== diffId || p.compression !== compression || seen.has(p.digest)) continue;
      seen.add(p.digest);
      const sameRegistry = p.registry === registry && p.repository !== repository;
      yield { digest: p.digest, size: p.size, source: p.source, origin: `${p.registry}/${p.repository}`, ...(sameRegistry ? { mountFrom: { registry, repository: p.repository } } : {}) };
    }
  }

  /**
   * Whether a candidate the place holds may be named for `diffId`: the user opted out of
   * diff_id checks, this user proved it before, or reading it now proves it (once per publish).
   */
  prove(c: PairingCandidate, diffId: Digest, compression: 'gzip' | 'zstd'): Promise<boolean> {
    if (!this.o.verify) return Promise.resolve(true);
    if (!this.o.reverify && this.o.cache?.verified(c.digest, diffId)?.size === c.size) return Promise.resolve(true);
    const key = `${c.digest} ${diffId}`;
    let p = this.proofs.get(key);
    if (!p) {
      const layer = { digest: c.digest, size: c.size, mediaType: layerMediaType('oci', compression), compression, diffId, source: c.source };
      p = this.o.checks.proveClaim(layer, `${c.origin} pairs it with layer ${diffId}: checking that claim`).then(
        (v) => {
          if (!v.diffIdChecked) return false;
          this.o.cache?.recordVerified({ digest: c.digest, size: c.size, diffId, compression, level: 0 });
          return true;
        },
        (e: unknown) => {
          const why = e instanceof Error ? e.message : String(e);
          this.o.emit({ type: 'note', message: `${c.origin} pairs ${c.digest} with layer ${diffId}, but it does not hold that layer (${printable(why)}): compressing the layer instead` });
          return false;
        },
      );
      this.proofs.set(key, p);
    }
    return p;
  }

  /** What one image claims, read once per publish; any failure or the deadline is "nothing learned". */
  private read(at: { registry: string; repository: string; reference: string }, named: boolean): Learning {
    const key = `${at.registry}/${at.repository}:${at.reference}`;
    let p = this.reads.get(key);
    if (!p) {
      const repo = clientFor(at.registry, this.o.client).repository(at.repository);
      const work = claimedPairs(repo, at.reference, this.o.platforms).then(
        (pairs) => {
          for (const x of pairs) this.o.cache?.recordClaimed({ diffId: x.diffId, compression: x.compression, digest: x.digest, size: x.size });
          return pairs;
        },
        (e: unknown) => {
          // The previous tag of a first push does not exist: only a --cache-from the user named is worth a line.
          if (named) this.o.emit({ type: 'note', message: `--cache-from ${printable(key)}: not read (${printable(e instanceof Error ? e.message : String(e))}); compressing without it` });
          return [];
        },
      );
      p = withDeadline(work, this.o.timeoutMs ?? DEFAULT_LEARN_TIMEOUT_MS, () => {
        if (named) this.o.emit({ type: 'note', message: `--cache-from ${printable(key)}: no answer within ${this.o.timeoutMs ?? DEFAULT_LEARN_TIMEOUT_MS} ms; compressing without it` });
      });
      this.reads.set(key, p);
    }
    return p;
  }
}

/** `work`, or nothing once `ms` have passed (the read goes on in the background, its answer unused). */
function withDeadline(work: Learning, ms: number, late: () => void): Learning {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ClaimedPair[]>((resolve) => {
    timer = setTimeout(() => {
      late();
      resolve([]);
    }, ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
