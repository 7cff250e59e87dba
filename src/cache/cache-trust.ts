import { constants, type Stats } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { printable } from '../util/printable.js';

/**
 * Whether the cache directory and file may be believed at all. What the cache says steers
 * what a push publishes, so it is used only when nobody but this user can have written it:
 * the directory and the file are owned by this user and not writable by group or others,
 * and the file is a regular file (not a symlink). tarpush creates the directory 0700 and the
 * file 0600. Anything else means running without the disk cache, with a warning saying why.
 */

const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** Why `st` (the cache directory or file) cannot be trusted, or undefined when it can. */
export function distrust(st: Stats, what: string): string | undefined {
  // Windows reports no owner and synthetic modes (files read 0666): its ACLs are not visible here.
  if (process.platform === 'win32') return undefined;
  const me = uid();
  if (me !== undefined && st.uid !== me) return `${what} is owned by uid ${st.uid}, not by this user (uid ${me})`;
  const writers = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean);
  if (writers.length > 0) return `${what} is writable by ${writers.join(' and ')} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** The warning for a cache that is not used, naming the path (escaped: it comes from the environment). */
export const untrustedWarning = (path: string, why: string): string =>
  `digest cache ${printable(path)} not used: ${why}; this run goes without it (fix the owner, or chmod go-w)`;

/** Why the cache directory cannot be trusted; undefined when it can or does not exist yet. */
export async function distrustDir(dir: string): Promise<string | undefined> {
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `cannot stat the directory: ${(e as Error).message}`;
  }
  if (!st.isDirectory()) return 'it is not a directory';
  return distrust(st, 'the directory');
}

/** Create the cache directory (0700, parents too) when missing; then why it cannot be trusted, if so. */
export async function ensureTrustedDir(dir: string): Promise<string | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Checked after creating: it may have existed (or been put there) with other owners or modes.
  return distrustDir(dir);
}

/**
 * The cache file's text: undefined when it does not exist or cannot be read (an empty
 * cache), or `{ refused }` when it exists but cannot be trusted. Opened without following a
 * symlink, and checked on the open descriptor, so what is checked is what is read.
 */
export async function readTrustedText(file: string): Promise<string | undefined | { refused: string }> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { refused: 'the file is a symlink' };
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { refused: 'the file is not a regular file' };
    const why = distrust(st, 'the file');
    if (why) return { refused: why };
    return await fh.readFile('utf8');
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => {});
  }
}
