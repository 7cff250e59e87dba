import { constants } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TarpushError } from '../errors.js';
import { errnoCode, layoutIoError } from './files.js';

/**
 * Nothing the layout writes or trusts may lie outside its directory. The layout's own
 * entries (`blobs/`, `blobs/sha256/`, `index.json`, `oci-layout`) must be what they claim
 * — a directory or a regular file — and never a symbolic link: a link could send a write
 * (mkdir, a blob, a rename) anywhere on the disk. Reads open with O_NOFOLLOW, so a link
 * swapped in after the check is refused by the kernel too.
 */

export type EntryKind = 'directory' | 'file';

/** Open flags for reading a layout file without following a link at its last component. */
export const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** A symbolic link met where the layout expects a file (ELOOP from O_NOFOLLOW). */
export function linkRefused(root: string, path: string): TarpushError {
  return new TarpushError('LAYOUT_INVALID', `${path} in OCI layout ${root} is a symbolic link; tarpush does not follow links in a layout`, {
    file: path,
  });
}

/**
 * Check `root/rel`: false when absent; LAYOUT_INVALID naming the path when it is a link or
 * not of the expected kind.
 */
export async function checkEntry(root: string, rel: string, kind: EntryKind): Promise<boolean> {
  const path = join(root, rel);
  let s;
  try {
    s = await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw layoutIoError(root, `cannot inspect ${path}`, e);
  }
  if (s.isSymbolicLink()) throw linkRefused(root, path);
  if (kind === 'directory' ? !s.isDirectory() : !s.isFile()) {
    throw new TarpushError('LAYOUT_INVALID', `${path} in OCI layout ${root} is not a ${kind === 'directory' ? 'directory' : 'regular file'}`, {
      file: path,
    });
  }
  return true;
}

export const BLOB_DIRS = ['blobs', join('blobs', 'sha256')] as const;

/** Make sure `blobs/sha256/` is a real directory of the layout, creating what is missing. */
export async function ensureBlobDir(root: string): Promise<void> {
  for (const rel of BLOB_DIRS) {
    if (await checkEntry(root, rel, 'directory')) continue;
    await mkdir(join(root, rel)).catch((e: unknown) => {
      if (errnoCode(e) !== 'EEXIST') throw layoutIoError(root, `cannot create ${join(root, rel)}`, e);
    });
    await checkEntry(root, rel, 'directory'); // a concurrent run may have made it; it must still be a directory
  }
}
