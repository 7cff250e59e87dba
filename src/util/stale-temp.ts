import { createHash } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Temp names that say which process owns them (`<prefix><pid>-…`), and the sweep that
 * removes what dead runs left behind (kill -9, a power cut): a later run removes every
 * `<prefix>*` entry of `dir` whose owner process is gone, and any such entry older than
 * `maxAgeMs` (a day by default) whatever its name says, since pids are reused. Entries of
 * this process are never removed. Best effort: entries that cannot be read or removed
 * (another user's, in a shared /tmp) are left alone.
 */

export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * A tag of this host in temp names: a directory on a shared disk (an OCI layout on NFS) may
 * hold another machine's temp files, whose pids say nothing here; those age out instead.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** The name prefix for a temp entry of process `pid` on this host: `<prefix><pid>-<host tag>-` (append something unique). */
export const ownedPrefix = (prefix: string, pid: number = process.pid): string => `${prefix}${pid}-${HOST_TAG}-`;

/** The pid a temp name made with ownedPrefix() on this host carries, if it has one. */
export function ownerPid(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)-([0-9a-f]{8})-/.exec(name.slice(prefix.length));
  if (!m || m[2] !== HOST_TAG) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (one of another user counts: EPERM). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove stale `<prefix>*` entries of `dir`; returns the names removed. */
export async function removeStaleTemps(dir: string, prefix: string, opts: { maxAgeMs?: number } = {}): Promise<string[]> {
  const maxAge = opts.maxAgeMs ?? STALE_AFTER_MS;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = ownerPid(name, prefix);
    if (pid === process.pid) continue;
    const path = join(dir, name);
    let stale = pid !== undefined && !processAlive(pid);
    if (!stale) {
      try {
        stale = now - (await lstat(path)).mtimeMs > maxAge;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to remove (or already gone).
    }
  }
  return removed;
}
