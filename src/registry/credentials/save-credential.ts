import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TarpushError } from '../../errors.js';
import { DOCKER_HUB_CONFIG_KEY, DOCKER_HUB_REGISTRY, parseRegistry } from '../../reference/index.js';
import { snippet } from '../../util/printable.js';
import { readAuthFile } from './auth-file.js';
import { matchAuthKey } from './auth-key-match.js';
import { DEFAULT_HELPER_TIMEOUT_MS } from './credential-helper.js';

/**
 * `tarpush login` / `logout`: store or remove a registry's credential the way `docker login`
 * does, so every tool that reads docker's config (and tarpush itself) finds it:
 * - the file is `--authfile`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
 *   (the first file findCredential reads after --authfile, so a login takes effect at once);
 * - through the file's `credHelpers` entry for the registry, else its `credsStore`, when it
 *   names one (docker-credential-X `store`/`erase`); the file then keeps an empty `auths`
 *   entry, as docker leaves it;
 * - else inline: `auths[KEY].auth` = base64("user:password");
 * - every other key of the file is kept; the new file is written beside it (mode 0600) and
 *   renamed over it, so a crash never leaves half a file.
 */

export interface StoreOptions {
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  helperTimeoutMs?: number;
}

export interface StoreResult {
  /** The file written. */
  file: string;
  /** `credential helper docker-credential-X` when a helper holds the secret, else the file. */
  where: string;
}

/** The file login writes and logout edits. */
export function loginFile(opts: StoreOptions): string {
  const env = opts.env ?? process.env;
  if (opts.authfile) return opts.authfile;
  return env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(opts.homeDir ?? homedir(), '.docker', 'config.json');
}

/** The key docker uses for a registry: the Hub's legacy URL, else host[:port]. */
const configKey = (host: string): string => (host === DOCKER_HUB_REGISTRY ? DOCKER_HUB_CONFIG_KEY : host);

async function readRaw(path: string): Promise<Record<string, unknown>> {
  // readAuthFile checks the shape (and names the file without quoting it); a missing file is empty.
  if (!(await readAuthFile(path, false))) return {};
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

async function writeAtomic(path: string, json: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tarpush-tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(json, null, '\t')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new TarpushError('CREDENTIALS_INVALID', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: path });
  }
}

/** The helper that holds this registry's secret, if the file names one. */
async function helperFor(path: string, host: string): Promise<string | undefined> {
  const file = await readAuthFile(path, false);
  if (!file) return undefined;
  const key = matchAuthKey(Object.keys(file.credHelpers), host, undefined);
  return key !== undefined ? file.credHelpers[key] : file.credsStore;
}

/** Run `docker-credential-NAME verb` with `input` on stdin; its output is never quoted (it may hold secrets). */
function runHelper(name: string, verb: 'store' | 'erase', input: string, opts: StoreOptions): Promise<void> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, [verb], { env: opts.env ?? process.env, timeout: opts.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return reject(new TarpushError('CREDENTIALS_INVALID', `credential helper ${program} is not installed (the config names it): nothing was ${verb === 'store' ? 'saved' : 'removed'}`));
      // erase of something the helper does not hold is no failure for logout
      if (verb === 'erase' && /not found/i.test(stderr)) return resolve();
      const why = snippet(stderr.trim().split(/\r?\n/, 1)[0] ?? '', 200);
      reject(new TarpushError('CREDENTIALS_INVALID', `credential helper ${program} ${verb} failed${why ? `: ${why}` : ''}`));
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** Save `username`/`password` for `registry` (check them against the registry first: that is the caller's job). */
export async function saveCredential(registry: string, cred: { username: string; password: string }, opts: StoreOptions = {}): Promise<StoreResult> {
  const host = parseRegistry(registry);
  const key = configKey(host);
  const path = loginFile(opts);
  const json = await readRaw(path);
  const auths = { ...((json.auths as Record<string, unknown> | undefined) ?? {}) };
  const helper = await helperFor(path, host);
  if (helper) {
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: cred.username, Secret: cred.password }), opts);
    auths[key] = {};
  } else {
    auths[key] = { auth: Buffer.from(`${cred.username}:${cred.password}`, 'utf8').toString('base64') };
  }
  await writeAtomic(path, { ...json, auths });
  return { file: path, where: helper ? `credential helper docker-credential-${helper}` : path };
}

/** Remove what login saved for `registry`; false when there was nothing. */
export async function removeCredential(registry: string, opts: StoreOptions = {}): Promise<{ file: string; removed: boolean }> {
  const host = parseRegistry(registry);
  const path = loginFile(opts);
  const json = await readRaw(path);
  const auths = { ...((json.auths as Record<string, unknown> | undefined) ?? {}) };
  const key = matchAuthKey(Object.keys(auths), host, undefined);
  const helper = await helperFor(path, host);
  if (helper) await runHelper(helper, 'erase', configKey(host), opts);
  if (key === undefined) return { file: path, removed: helper !== undefined };
  delete auths[key];
  await writeAtomic(path, { ...json, auths });
  return { file: path, removed: true };
}
