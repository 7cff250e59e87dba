import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { TarpushError } from '../errors.js';

/**
 * Small file primitives for the layout. Readers must never see a half-written file, so
 * everything is written to a temp file in the same directory and then renamed (replace)
 * or hard-linked (create only if absent) into place. No fsync: a rename is atomic for
 * other processes, which is what concurrent tarpush runs need; after a power failure a
 * just-written blob might be truncated, and readers (skopeo, containerd, tarpush) verify
 * blob digests, so that shows up as an error, never as a silently wrong image.
 */

/**
 * Temp names carry the writer's pid and a tag of its host, so a later run can tell a temp
 * file of a dead run (kill -9, power loss) from one being written right now:
 * `.tmp-<what>-<pid>-<host tag>-<random>`. Hidden (leading dot) so listings skip them.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const TEMP_NAME = /^\.tmp-.*-(\d+)-([0-9a-f]{8})-[0-9a-f]{16}$/;
/** A temp file this old is stale whoever wrote it (its writer would have touched it since). */
export const STALE_TEMP_AGE_MS = 24 * 60 * 60 * 1000;

/** A temp path beside `target`. */
export function tempPathFor(target: string): string {
  const name = `.tmp-${basename(target).slice(0, 16)}-${process.pid}-${HOST_TAG}-${randomBytes(8).toString('hex')}`;
  return join(dirname(target), name);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== 'ESRCH'; // EPERM: alive, someone else's
  }
}

/**
 * Remove the temp files in `dir` that no run will finish: written by a process of this host
 * that is gone, or (any writer, any name format) not modified for a day. Best effort: a file
 * another run removes first, or one we may not remove, is left alone. Resolves with the
 * names removed.
 */
export async function sweepStaleTemps(dir: string, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith('.tmp-')) continue;
    const path = join(dir, name);
    try {
      const s = await lstat(path);
      if (!s.isFile()) continue;
      const m = TEMP_NAME.exec(name);
      const writerGone = m !== null && m[2] === HOST_TAG && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
      if (!writerGone && now - s.mtimeMs < STALE_TEMP_AGE_MS) continue;
      await rm(path, { force: true });
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** Replace `target` with `data` atomically. */
export async function writeFileAtomic(target: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** Create `target` with `data` unless it exists; resolves false if it existed. */
export async function createFileExclusive(target: string, data: string | Buffer): Promise<boolean> {
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await link(tmp, target);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await rm(tmp, { force: true }).catch(() => {});
  }
}

export const errnoCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** LAYOUT_INVALID for a failed file operation, naming what was being done. */
export function layoutIoError(root: string, what: string, cause: unknown): TarpushError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new TarpushError('LAYOUT_INVALID', `${what} in OCI layout ${root}: ${msg}`, { file: root }, { cause });
}
