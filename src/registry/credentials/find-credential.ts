import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { TarpushError } from '../../errors.js';
import { DOCKER_HUB_CONFIG_KEY, DOCKER_HUB_REGISTRY, parseRegistry } from '../../reference/index.js';
import { credentialFromEntry } from './auth-entry.js';
import { readAuthFile, type AuthFile } from './auth-file.js';
import { matchAuthKey } from './auth-key-match.js';
import { DEFAULT_HELPER_TIMEOUT_MS, runCredentialHelper, type HelperOptions } from './credential-helper.js';
import type { Credential, CredentialLookup, CredentialOptions } from './types.js';

/**
 * Find the credential for `registry`; the first place that has one wins:
 *  1. flags (`username` + `password`),
 *  2. environment TARPUSH_USERNAME + TARPUSH_PASSWORD,
 *  3. `authfile` (`--authfile`; must exist),
 *  4. docker: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`,
 *  5. podman/skopeo: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 *     `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`).
 * Within one file, as docker does: `credHelpers[registry]`, then `credsStore`, then the
 * inline `auths` entry. A helper that is missing or knows nothing about the registry is
 * passed over. `undefined` when nothing is found (anonymous access).
 * With `credentialHosts`, 1 and 2 apply only to those registries (compared as parseRegistry
 * normalises them: `docker.io` = `registry-1.docker.io`, case, URL forms): a registry named
 * by an archive rather than by the user gets only what the files hold for it.
 */
export async function findCredential(registry: string, opts: CredentialOptions = {}): Promise<Credential | undefined> {
  return (await lookUpCredential(registry, opts)).credential;
}

/** findCredential, and the helpers it had to pass over because they are not installed (for a 401 to mention). */
export async function lookUpCredential(registry: string, opts: CredentialOptions = {}): Promise<CredentialLookup> {
  const missingHelpers: string[] = [];
  const credential = await search(registry, opts, (program) => {
    if (!missingHelpers.includes(program)) missingHelpers.push(program);
  });
  return { ...(credential ? { credential } : {}), missingHelpers };
}

async function search(registry: string, opts: CredentialOptions, onMissing: (program: string) => void): Promise<Credential | undefined> {
  const host = parseRegistry(registry);
  const env = opts.env ?? process.env;
  const helper: HelperOptions = {
    env,
    timeoutMs: opts.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS,
    debug: opts.debug ?? (() => {}),
    onMissing,
  };

  const explicitHere = opts.credentialHosts === undefined || opts.credentialHosts.some((h) => parseRegistry(h) === host);
  if (explicitHere) {
    const fromFlags = pair(opts.username, opts.password, 'flag', '--username', 'a password (--password-stdin)');
    if (fromFlags) return fromFlags;
    const fromEnv = pair(env.TARPUSH_USERNAME, env.TARPUSH_PASSWORD, 'env', 'TARPUSH_USERNAME', 'TARPUSH_PASSWORD');
    if (fromEnv) return fromEnv;
  } else {
    helper.debug(`explicit credentials are for ${opts.credentialHosts!.join(', ')}, not ${host}: looking in credential files only`);
  }

  const seen = new Set<string>();
  for (const { path, required } of authFilePaths(opts, env)) {
    const key = resolve(path);
    if (seen.has(key)) continue;
    seen.add(key);
    const file = await readAuthFile(path, required);
    if (!file) {
      helper.debug(`no credentials file at ${path}`);
      continue;
    }
    const found = await lookUpInFile(file, host, opts.repository, helper);
    if (found) return found;
  }
  return undefined;
}

/** Credentials given as a user name and password pair; one without the other is a mistake. */
function pair(
  username: string | undefined,
  password: string | undefined,
  source: 'flag' | 'env',
  userWhat: string,
  passwordWhat: string,
): Credential | undefined {
  const hasUser = username !== undefined && username !== '';
  const hasPassword = password !== undefined && password !== '';
  if (hasUser && hasPassword) return { kind: 'basic', username: username!, password: password!, source };
  if (hasUser) throw new TarpushError('CREDENTIALS_INVALID', `${userWhat} is set but ${passwordWhat} is missing`);
  if (hasPassword) throw new TarpushError('CREDENTIALS_INVALID', `${passwordWhat} is set but ${userWhat} is missing`);
  return undefined;
}

/** Auth files in search order; only the explicit --authfile must exist. */
export function authFilePaths(opts: CredentialOptions, env: NodeJS.ProcessEnv): Array<{ path: string; required: boolean }> {
  const home = opts.homeDir ?? homedir();
  const paths: Array<{ path: string; required: boolean }> = [];
  if (opts.authfile) paths.push({ path: opts.authfile, required: true });
  paths.push({ path: env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json'), required: false });
  if (env.REGISTRY_AUTH_FILE) paths.push({ path: env.REGISTRY_AUTH_FILE, required: false });
  if (env.XDG_RUNTIME_DIR) paths.push({ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), required: false });
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  paths.push({ path: join(configHome, 'containers', 'auth.json'), required: false });
  return paths;
}

async function lookUpInFile(file: AuthFile, host: string, repository: string | undefined, helper: HelperOptions): Promise<Credential | undefined> {
  const authsKey = matchAuthKey(Object.keys(file.auths), host, repository);
  // What docker passes to helpers: the Hub's legacy URL, else the host (or the key docker login stored).
  const serverUrl = host === DOCKER_HUB_REGISTRY ? DOCKER_HUB_CONFIG_KEY : host;

  const helperKey = matchAuthKey(Object.keys(file.credHelpers), host, repository);
  if (helperKey !== undefined) {
    const found = await runCredentialHelper(file.credHelpers[helperKey]!, serverUrl, helper);
    if (found) return found;
  } else if (file.credsStore !== undefined) {
    const found = await runCredentialHelper(file.credsStore, authsKey ?? serverUrl, helper);
    if (found) return found;
  }

  if (authsKey === undefined) return undefined;
  return credentialFromEntry(file.auths[authsKey], authsKey, file.path);
}
