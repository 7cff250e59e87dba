import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { Digest } from '../image/digest.js';
import type { Compression } from '../image/media-types.js';

/**
 * The on-disk form of the digest cache: one small JSON document with a version field and
 * rows as arrays (compact and fast to parse: 10,000 rows load in a few milliseconds).
 * Parsing never fails: a corrupt or foreign file reads as empty, and rows that do not have
 * the right shape are skipped one by one. Whether the file may be read at all (owner, mode)
 * is cache-trust.ts's call.
 */

export const CACHE_FORMAT_VERSION = 1;

/** [digest, registry, repository, usedAt(ms)] */
export type LocationRow = [Digest, string, string, number];
/** [blob digest, diffId, blob size, compression, level (0: not produced by tarpush), usedAt(ms)] */
export type VerifiedRow = [Digest, Digest, number, Compression, number, number];
/** [diffId, compression, blob digest, blob size, usedAt(ms)]: a pairing a registry's image claimed, not checked by us. */
export type ClaimedRow = [Digest, 'gzip' | 'zstd', Digest, number, number];

/**
 * Rows of the file. Files of earlier versions also have a "compressed" table (unproven
 * compressed digests of diff_ids); it is not read, and the next save leaves it out.
 */
export interface CacheFileContents {
  locations: LocationRow[];
  verified: VerifiedRow[];
  claimed: ClaimedRow[];
}

const empty = (): CacheFileContents => ({ locations: [], verified: [], claimed: [] });

/**
 * Same test as image/digest.ts isDigest, without the regular expression: checking 30,000
 * digests by regex was a third of the load time of a full cache file.
 */
function isDigest(s: unknown): s is Digest {
  if (typeof s !== 'string' || s.length !== 71 || !s.startsWith('sha256:')) return false;
  for (let i = 7; i < 71; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function isVerifiedRow(r: unknown): r is VerifiedRow {
  return (
    Array.isArray(r) &&
    r.length === 6 &&
    isDigest(r[0]) &&
    isDigest(r[1]) &&
    isCount(r[2]) &&
    (r[3] === 'gzip' || r[3] === 'zstd' || r[3] === 'none') &&
    isCount(r[4]) &&
    isCount(r[5])
  );
}

function isClaimedRow(r: unknown): r is ClaimedRow {
  return Array.isArray(r) && r.length === 5 && isDigest(r[0]) && (r[1] === 'gzip' || r[1] === 'zstd') && isDigest(r[2]) && isCount(r[3]) && isCount(r[4]);
}

function isLocationRow(r: unknown): r is LocationRow {
  return (
    Array.isArray(r) &&
    r.length === 4 &&
    isDigest(r[0]) &&
    typeof r[1] === 'string' &&
    r[1] !== '' &&
    typeof r[2] === 'string' &&
    r[2] !== '' &&
    isCount(r[3])
  );
}

/** Parse cache text; anything unusable reads as empty. */
export function parseCacheText(text: string | undefined): CacheFileContents {
  if (text === undefined) return empty();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return empty();
  }
  if (typeof doc !== 'object' || doc === null) return empty();
  const d = doc as Record<string, unknown>;
  if (d['version'] !== CACHE_FORMAT_VERSION) return empty();
  const locations = Array.isArray(d['locations']) ? d['locations'].filter(isLocationRow) : [];
  const verified = Array.isArray(d['verified']) ? d['verified'].filter(isVerifiedRow) : [];
  const claimed = Array.isArray(d['claimed']) ? d['claimed'].filter(isClaimedRow) : [];
  return { locations, verified, claimed };
}

/**
 * Write atomically: a new temp file (0600, created exclusively) beside the target in the
 * caller's trusted directory, then rename over it.
 */
export async function writeCacheFile(file: string, contents: CacheFileContents): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  // One row per line: still one JSON document, but readable and diffable by a human.
  const rows = (rs: unknown[]): string => (rs.length ? `[\n${rs.map((r) => JSON.stringify(r)).join(',\n')}\n]` : '[]');
  const text = `{"version":${CACHE_FORMAT_VERSION},\n"locations":${rows(contents.locations)},\n"verified":${rows(contents.verified)},\n"claimed":${rows(contents.claimed)}}\n`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
