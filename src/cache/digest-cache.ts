import { dirname, join } from 'node:path';
import type { Digest } from '../image/digest.js';
import type { Compression } from '../image/media-types.js';
import { cacheDir, cacheDisabled } from './cache-dir.js';
import { parseCacheText, writeCacheFile, type CacheFileContents, type ClaimedRow, type LocationRow, type VerifiedRow } from './cache-file.js';
import { distrustDir, ensureTrustedDir, readTrustedText, untrustedWarning } from './cache-trust.js';

/**
 * What earlier pushes learnt, so the next one does less work:
 *  - which (blob digest → diff_id) pairs this user's runs proved by a completed diff_id check,
 *    and, for blobs tarpush compressed itself, at which compression and level (`produced()`):
 *    a re-push can then ask "does the registry have it?" without compressing again;
 *  - which repositories of a registry hold a blob, so it can be mounted instead of uploaded.
 * (Files written before proven pairs existed also hold unproven "compressed" rows; they are
 * not read, and the next save drops them.)
 * It is only a cache, and a hint, never proof: anything wrong with the file means starting
 * empty; a lost write (two processes saving at the same instant) only costs one
 * recompression, upload or check; and the file is believed only when nobody but this user
 * can have written it (cache-trust.ts) — otherwise the run goes without it, with a warning
 * in `warnings`. Even then a cached mapping is confirmed against the registry (the blob is
 * there, with the recorded size) before a manifest names it.
 */

/**
 * A (blob → diff_id) pair a diff_id check of this user's proved: the blob's bytes,
 * decompressed, hash to `diffId` and are a tar. Recorded only after such a check completed
 * (LayerVerified.diffIdChecked), never from what an archive or registry claims.
 */
export interface VerifiedRecord {
  /** The blob: its digest and size as stored or published (compare `size` with a registry HEAD). */
  digest: Digest;
  size: number;
  /** The uncompressed digest proven for it. */
  diffId: Digest;
  /** The blob's compression. */
  compression: Compression;
  /** The level tarpush compressed it at when it produced the blob; 0 when the blob is an archive's own. */
  level: number;
}

/**
 * A (diff_id → blob) pairing a registry's image claimed (its config's diff_ids[i] beside its
 * manifest's layers[i]), remembered so the next run need not fetch that image again. Only a
 * hint for which blob to ask the destination about: it is not a VerifiedRecord, and the
 * publisher checks it (or the user opted out) before a manifest names the blob.
 */
export interface ClaimedRecord {
  diffId: Digest;
  compression: 'gzip' | 'zstd';
  digest: Digest;
  size: number;
}

export interface DigestCacheOptions {
  /** Cache directory (default: TARPUSH_CACHE_DIR, $XDG_CACHE_HOME/tarpush, ~/.cache/tarpush). */
  dir?: string;
  /** Environment to read TARPUSH_* / XDG_CACHE_HOME / HOME from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Most entries kept per table (default 10,000); the least recently used go first. */
  maxEntries?: number;
  /** Most repositories remembered per blob and registry set (default 8, most recent). */
  maxLocationsPerDigest?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

export const CACHE_FILE_NAME = 'digests-v1.json';
const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_LOCATIONS_PER_DIGEST = 8;
/** A hit refreshes an entry's age only when it is older than this, so read-only runs stay read-only. */
const TOUCH_AFTER_MS = 24 * 3600 * 1000;

interface Timed<T> {
  value: T;
  usedAt: number;
}

interface Location {
  registry: string;
  repository: string;
}

const producedKey = (diffId: string, compression: string, level: number): string => `${diffId} ${compression} ${level}`;
const verifiedKey = (digest: string, diffId: string): string => `${digest} ${diffId}`;
// Registry hosts never contain '/', so registry + '/' + repository is unambiguous.
const claimedKey = (diffId: string, compression: string, digest: string): string => `${diffId} ${compression} ${digest}`;
/** Claimed blobs remembered per (diff_id, compression): registries differ (mirrors, other compressors). */
const MAX_CLAIMED_PER_DIFF_ID = 4;
const locationKey = (registry: string, repository: string): string => `${registry}/${repository}`;

export class DigestCache {
  /** The cache file, or undefined for a memory-only cache. */
  readonly file: string | undefined;
  private readonly maxEntries: number;
  private readonly maxPerDigest: number;
  private readonly clock: () => number;
  private lastStamp = 0;
  private dirty = false;
  /** File text read by open() but not parsed yet: parsed on first use, so runs that never look anything up pay only for the read. */
  private unparsed: string | undefined;

  private readonly notes: string[] = [];

  /** (digest diffId) → a verified pair. */
  private verifiedByKey = new Map<string, Timed<VerifiedRecord>>();
  /** (diffId compression level) → the verifiedByKey key of a blob tarpush produced at that level. */
  private producedIndex = new Map<string, string>();
  /** (diffId compression) → (claimedKey → record) */
  private claimedByDiffId = new Map<string, Map<string, Timed<ClaimedRecord>>>();
  /** digest → (registry/repository → location) */
  private locationsByDigest = new Map<Digest, Map<string, Timed<Location>>>();

  private constructor(file: string | undefined, opts: DigestCacheOptions) {
    this.file = file;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxPerDigest = opts.maxLocationsPerDigest ?? DEFAULT_MAX_LOCATIONS_PER_DIGEST;
    this.clock = opts.now ?? Date.now;
  }

  /**
   * Open the cache (memory-only when TARPUSH_NO_CACHE is set). Never fails: a bad file reads
   * as empty, and a directory or file others could have written (not owned by this user, or
   * writable by group or others, or a symlinked file) gives a memory-only cache and a
   * warning in `warnings`.
   */
  static async open(opts: DigestCacheOptions = {}): Promise<DigestCache> {
    const env = opts.env ?? process.env;
    if (cacheDisabled(env)) return new DigestCache(undefined, opts);
    const dir = opts.dir ?? cacheDir(env);
    const file = join(dir, CACHE_FILE_NAME);
    const dirProblem = await distrustDir(dir);
    if (dirProblem) return DigestCache.refused(dir, dirProblem, opts);
    const text = await readTrustedText(file);
    if (typeof text === 'object') return DigestCache.refused(file, text.refused, opts);
    const cache = new DigestCache(file, opts);
    cache.unparsed = text;
    return cache;
  }

  private static refused(path: string, why: string, opts: DigestCacheOptions): DigestCache {
    const cache = new DigestCache(undefined, opts);
    cache.notes.push(untrustedWarning(path, why));
    return cache;
  }

  /** A cache that never touches the disk. */
  static memory(opts: Omit<DigestCacheOptions, 'dir' | 'env'> = {}): DigestCache {
    return new DigestCache(undefined, opts);
  }

  get memoryOnly(): boolean {
    return this.file === undefined;
  }

  /**
   * Why the disk cache is not used (at open), or was not written (at save): one line each,
   * for the caller to print as warnings. Empty when all is well.
   */
  get warnings(): readonly string[] {
    return this.notes;
  }

  /**
   * Record a pair a completed diff_id check proved (see VerifiedRecord). For blobs tarpush
   * produced, give the compression level, so `produced()` finds it again.
   */
  recordVerified(r: VerifiedRecord): void {
    this.load();
    const value: VerifiedRecord = { digest: r.digest, size: r.size, diffId: r.diffId, compression: r.compression, level: r.level };
    this.setVerified(value, this.stamp());
    this.dirty = true;
  }

  /** Whether this user's runs proved that `digest` decompresses to `diffId`. */
  isVerified(digest: Digest, diffId: Digest): boolean {
    return this.verified(digest, diffId) !== undefined;
  }

  /** The proven pair (with the blob's size, to compare with what the registry reports), or undefined. */
  verified(digest: Digest, diffId: Digest): VerifiedRecord | undefined {
    this.load();
    const hit = this.verifiedByKey.get(verifiedKey(digest, diffId));
    if (!hit) return undefined;
    this.touch(hit);
    return { ...hit.value };
  }

  /**
   * The blob an earlier run of this user produced from `diffId` at this compression and level,
   * and proved; undefined when there is none. The publisher confirms it with the registry (the
   * blob exists with `size` bytes) before using it instead of compressing again.
   */
  produced(diffId: Digest, compression: 'gzip' | 'zstd', level: number): VerifiedRecord | undefined {
    this.load();
    const key = this.producedIndex.get(producedKey(diffId, compression, level));
    const hit = key === undefined ? undefined : this.verifiedByKey.get(key);
    if (!hit) return undefined;
    this.touch(hit);
    return { ...hit.value };
  }

  /** Record a pairing a registry's image claimed (see ClaimedRecord). */
  recordClaimed(r: ClaimedRecord): void {
    this.load();
    this.setClaimed({ diffId: r.diffId, compression: r.compression, digest: r.digest, size: r.size }, this.stamp());
    this.dirty = true;
  }

  /** Blobs registries claimed hold `diffId` in this compression, most recently seen first. */
  claimed(diffId: Digest, compression: 'gzip' | 'zstd'): ClaimedRecord[] {
    this.load();
    const rows = this.claimedByDiffId.get(`${diffId} ${compression}`);
    if (!rows) return [];
    return [...rows.values()].sort((a, b) => b.usedAt - a.usedAt).map((t) => ({ ...t.value }));
  }

  /** Repositories on `registry` known to hold `digest`, most recently seen first. */
  repositoriesHolding(digest: Digest, registry: string): string[] {
    this.load();
    const locations = this.locationsByDigest.get(digest);
    if (!locations) return [];
    return [...locations.values()]
      .filter((l) => l.value.registry === registry)
      .sort((a, b) => b.usedAt - a.usedAt)
      .map((l) => l.value.repository);
  }

  recordLocation(digest: Digest, registry: string, repository: string): void {
    this.load();
    let locations = this.locationsByDigest.get(digest);
    if (!locations) {
      locations = new Map();
      this.locationsByDigest.set(digest, locations);
    }
    locations.set(locationKey(registry, repository), { value: { registry, repository }, usedAt: this.stamp() });
    this.trimLocations(locations);
    this.dirty = true;
  }

  /**
   * Write the cache if anything changed: create the directory (0700) when missing, read what
   * is on disk now (another process may have saved meanwhile), merge (newest use wins), evict
   * beyond the caps, write a 0600 temp file and rename it into place. Never throws: a cache
   * that cannot be written is just not written, and a directory or file that became
   * untrustworthy since open is not written to (a line in `warnings` says so).
   */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    try {
      const dir = dirname(this.file);
      const dirProblem = await ensureTrustedDir(dir);
      if (dirProblem) {
        this.notes.push(untrustedWarning(dir, dirProblem));
        return;
      }
      const text = await readTrustedText(this.file);
      if (typeof text === 'object') {
        this.notes.push(untrustedWarning(this.file, text.refused));
        return;
      }
      this.merge(parseCacheText(text));
      this.evict();
      await writeCacheFile(this.file, this.toContents());
      this.dirty = false;
    } catch {
      // Read-only home, full disk…: the push succeeded, the next one just learns again.
    }
  }

  /** Number of entries held: (digest, repository) locations and proven pairs. */
  get size(): { locations: number; verified: number } {
    this.load();
    let locations = 0;
    for (const l of this.locationsByDigest.values()) locations += l.size;
    return { locations, verified: this.verifiedByKey.size };
  }

  private load(): void {
    if (this.unparsed === undefined) return;
    const text = this.unparsed;
    this.unparsed = undefined;
    this.merge(parseCacheText(text));
  }

  /** Strictly increasing timestamps, so "most recent" is well defined within a run. */
  private stamp(): number {
    this.lastStamp = Math.max(this.clock(), this.lastStamp + 1);
    return this.lastStamp;
  }

  private touch(entry: Timed<unknown>): void {
    if (this.clock() - entry.usedAt > TOUCH_AFTER_MS) {
      entry.usedAt = this.stamp();
      this.dirty = true;
    }
  }

  private setVerified(value: VerifiedRecord, usedAt: number): void {
    const key = verifiedKey(value.digest, value.diffId);
    this.verifiedByKey.set(key, { value, usedAt });
    if (value.level > 0 && value.compression !== 'none') this.producedIndex.set(producedKey(value.diffId, value.compression, value.level), key);
  }

  private setClaimed(value: ClaimedRecord, usedAt: number): void {
    const byDiff = `${value.diffId} ${value.compression}`;
    let rows = this.claimedByDiffId.get(byDiff);
    if (!rows) this.claimedByDiffId.set(byDiff, (rows = new Map()));
    const key = claimedKey(value.diffId, value.compression, value.digest);
    const mine = rows.get(key);
    if (mine && mine.usedAt >= usedAt) return;
    rows.set(key, { value, usedAt });
    if (rows.size > MAX_CLAIMED_PER_DIFF_ID) {
      const keep = [...rows.entries()].sort((a, b) => b[1].usedAt - a[1].usedAt).slice(0, MAX_CLAIMED_PER_DIFF_ID);
      rows.clear();
      for (const [k, v] of keep) rows.set(k, v);
    }
  }

  private merge(contents: CacheFileContents): void {
    for (const [diffId, compression, digest, size, usedAt] of contents.claimed) this.setClaimed({ diffId, compression, digest, size }, usedAt);
    for (const [digest, diffId, size, compression, level, usedAt] of contents.verified) {
      const mine = this.verifiedByKey.get(verifiedKey(digest, diffId));
      if (!mine || usedAt > mine.usedAt) this.setVerified({ digest, size, diffId, compression, level }, usedAt);
    }
    const touched = new Set<Map<string, Timed<Location>>>();
    for (const [digest, registry, repository, usedAt] of contents.locations) {
      let locations = this.locationsByDigest.get(digest);
      if (!locations) {
        locations = new Map();
        this.locationsByDigest.set(digest, locations);
      }
      const key = locationKey(registry, repository);
      const mine = locations.get(key);
      if (!mine || usedAt > mine.usedAt) locations.set(key, { value: { registry, repository }, usedAt });
      touched.add(locations);
    }
    for (const l of touched) this.trimLocations(l);
  }

  private trimLocations(locations: Map<string, Timed<Location>>): void {
    if (locations.size <= this.maxPerDigest) return;
    const keep = [...locations.entries()].sort((a, b) => b[1].usedAt - a[1].usedAt).slice(0, this.maxPerDigest);
    locations.clear();
    for (const [k, v] of keep) locations.set(k, v);
  }

  /** Keep the most recently used entries of each table up to maxEntries. */
  private evict(): void {
    if (this.verifiedByKey.size > this.maxEntries) {
      const keep = [...this.verifiedByKey.values()].sort((a, b) => b.usedAt - a.usedAt).slice(0, this.maxEntries);
      this.verifiedByKey = new Map();
      this.producedIndex = new Map();
      for (const t of keep) this.setVerified(t.value, t.usedAt);
    }
    if (this.claimedByDiffId.size > this.maxEntries) {
      const newest = (m: Map<string, Timed<ClaimedRecord>>): number => Math.max(...[...m.values()].map((t) => t.usedAt));
      const keep = [...this.claimedByDiffId.entries()].sort((a, b) => newest(b[1]) - newest(a[1])).slice(0, this.maxEntries);
      this.claimedByDiffId = new Map(keep);
    }
    if (this.locationsByDigest.size > this.maxEntries) {
      // A digest's age is that of its most recent location.
      const newest = (m: Map<string, Timed<Location>>): number => Math.max(...[...m.values()].map((l) => l.usedAt));
      const keep = [...this.locationsByDigest.entries()]
        .map(([d, m]) => [d, m, newest(m)] as const)
        .sort((a, b) => b[2] - a[2])
        .slice(0, this.maxEntries)
        .map(([d, m]) => [d, m] as const);
      this.locationsByDigest = new Map(keep);
    }
  }

  private toContents(): CacheFileContents {
    const locations: LocationRow[] = [];
    for (const [digest, m] of this.locationsByDigest) {
      for (const { value: l, usedAt } of m.values()) locations.push([digest, l.registry, l.repository, usedAt]);
    }
    const verified: VerifiedRow[] = [];
    for (const { value: v, usedAt } of this.verifiedByKey.values()) verified.push([v.digest, v.diffId, v.size, v.compression, v.level, usedAt]);
    const claimed: ClaimedRow[] = [];
    for (const rows of this.claimedByDiffId.values()) for (const { value: v, usedAt } of rows.values()) claimed.push([v.diffId, v.compression, v.digest, v.size, usedAt]);
    return { locations, verified, claimed };
  }
}
