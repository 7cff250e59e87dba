import { randomBytes } from 'node:crypto';
import { link, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Small file primitives for the layout. Readers must never see a half-written file, so
 * everything is written to a temp file in the same directory and then renamed (replace)
 * or hard-linked (create only if absent) into place. No fsync: a rename is atomic for
 * other processes, which is what concurrent tarpush runs need; after a power failure a
 * just-written blob might be truncated, and readers (skopeo, containerd, tarpush) verify
 * blob digests, so that shows up as an error, never as a silently wrong image.
 */

/** A temp path beside `target`, hidden (leading dot) so listings of the layout skip it. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.tmp-${basename(target).slice(0, 16)}-${randomBytes(8).toString('hex')}`);
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
