import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup.js';
import { ownedPrefix, removeStaleTemps } from './stale-temp.js';

/** Every tarpush temp directory (a spooled stdin, a stream a registry refused as PATCH) starts so. */
export const SPOOL_PREFIX = 'tarpush-spool-';

/**
 * A temp directory of this process (`tarpush-spool-<pid>-<host>-…`), removed by `remove()`,
 * on SIGINT/SIGTERM, or by a later run's sweep if the process dies.
 */
export async function ownedTempDir(parent: string = tmpdir()): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(parent, ownedPrefix(SPOOL_PREFIX)));
  const unregister = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    remove: async () => {
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
}

/** Remove what dead runs left in `parent` (see util/stale-temp.ts). */
export const removeStaleSpools = (parent: string = tmpdir()): Promise<string[]> => removeStaleTemps(parent, SPOOL_PREFIX);
