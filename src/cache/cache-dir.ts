import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * Where the cache lives: TARPUSH_CACHE_DIR, else $XDG_CACHE_HOME/tarpush (the XDG spec
 * says to ignore a relative value), else ~/.cache/tarpush.
 */
export function cacheDir(env: NodeJS.ProcessEnv): string {
  if (env['TARPUSH_CACHE_DIR']) return env['TARPUSH_CACHE_DIR'];
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'tarpush');
  return join(env['HOME'] || homedir(), '.cache', 'tarpush');
}

/** TARPUSH_NO_CACHE set to anything but empty, 0, false or no turns the disk cache off. */
export function cacheDisabled(env: NodeJS.ProcessEnv): boolean {
  const v = env['TARPUSH_NO_CACHE']?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false' && v !== 'no';
}
