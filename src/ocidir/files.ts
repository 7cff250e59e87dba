import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { link, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TarpushError } from '../errors.js';
import { registerCleanup } from '../util/cleanup.js';
import { ownedPrefix, removeStaleTemps } from '../util/stale-temp.js';

/**
 * Small file primitives for the layout. Readers must never see a half-written file, so
 * everything is written to a temp file in the same directory and then renamed (replace)
 * or hard-linked (create only if absent) into place. No fsync: a rename is atomic for
 * other processes, which is what concurrent tarpush runs need; after a power failure a
 * just-written blob might be truncated, and readers (skopeo, containerd, tarpush) verify
 * blob digests, so that shows up as an error, never as a silently wrong image.
 */

/**
 * Temp files beside their target, named by util/stale-temp.ts (`.tmp-<pid>-<host tag>-…`,
 * hidden: listings skip them), so a later run can tell a dead run's leftovers from a file
 * being written right now; each open of a layout sweeps them.
 */
const TEMP_PREFIX = '.tmp-';

/** A temp path beside `target`. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${ownedPrefix(TEMP_PREFIX)}${basename(target).slice(0, 16)}-${randomBytes(8).toString('hex')}`);
}

/** Remove the temp files in `dir` that no run will finish (see util/stale-temp.ts). */
export function sweepStaleTemps(dir: string): Promise<string[]> {
  return removeStaleTemps(dir, TEMP_PREFIX);
}

/**
 * Remove `tmp` if the process is stopped while it exists; call the result once it is gone
 * or renamed.
 */
export function removeOnSignal(tmp: string): () => void {
  return registerCleanup(() => rmSync(tmp, { force: true }));
}

/**
 * The life of a temp file beside `target`: `fn` writes it and moves it into place; it is
 * removed when `fn` fails, when the process is stopped meanwhile, and (`removeAfter`) when
 * `fn` only linked it.
 */
export async function withTempFile<T>(target: string, fn: (tmp: string) => Promise<T>, opts: { removeAfter?: boolean } = {}): Promise<T> {
  const tmp = tempPathFor(target);
  const forget = removeOnSignal(tmp);
  let done = false;
  try {
    const result = await fn(tmp);
    done = true;
    return result;
  } finally {
    if (!done || opts.removeAfter) await rm(tmp, { force: true }).catch(() => {});
    forget();
  }
}

/** Replace `target` with `data` atomically. */
export function writeFileAtomic(target: string, data: string | Buffer): Promise<void> {
  return withTempFile(target, async (tmp) => {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, target);
  });
}

/** Create `target` with `data` unless it exists; resolves false if it existed. */
export function createFileExclusive(target: string, data: string | Buffer): Promise<boolean> {
  return withTempFile(
    target,
    async (tmp) => {
      await writeFile(tmp, data, { flag: 'wx' });
      try {
        await link(tmp, target);
        return true;
      } catch (e) {
        if (errnoCode(e) === 'EEXIST') return false;
        throw e;
      }
    },
    { removeAfter: true },
  );
}

export const errnoCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** LAYOUT_INVALID for a failed file operation, naming what was being done. */
export function layoutIoError(root: string, what: string, cause: unknown): TarpushError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new TarpushError('LAYOUT_INVALID', `${what} in OCI layout ${root}: ${msg}`, { file: root }, { cause });
}
