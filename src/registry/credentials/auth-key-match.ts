import { DOCKER_HUB_REGISTRY, dockerConfigKeys, parseRegistry } from '../../reference/index.js';

/**
 * Which key of an `auths` / `credHelpers` map belongs to a registry.
 *
 * Best first:
 *  1. with a repository given, per-repository keys of containers auth.json, most specific
 *     first (`quay.io/org/app`, then `quay.io/org`);
 *  2. the exact keys docker and podman write (see dockerConfigKeys);
 *  3. any key naming the same host, as docker itself matches: scheme and `/v1/`-style
 *     suffixes stripped, Docker Hub aliases merged; bare host/URL keys before
 *     per-repository keys (`quay.io/org`), which thus match any repository on their host
 *     when no repository was asked for. Ties go to the order in the file.
 */
export function matchAuthKey(keys: readonly string[], registry: string, repository?: string): string | undefined {
  const present = new Set(keys);
  const host = parseRegistry(registry);

  if (repository) {
    const hosts = host === DOCKER_HUB_REGISTRY ? ['docker.io', 'index.docker.io', DOCKER_HUB_REGISTRY] : [host];
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) {
      const path = parts.slice(0, n).join('/');
      for (const h of hosts) if (present.has(`${h}/${path}`)) return `${h}/${path}`;
    }
  }

  for (const key of dockerConfigKeys(host)) if (present.has(key)) return key;

  let perRepository: string | undefined;
  for (const key of keys) {
    const parsed = splitKey(key);
    if (parsed === undefined || parsed.host !== host) continue;
    if (!parsed.hasRepository) return key;
    perRepository ??= key;
  }
  return perRepository;
}

/** `https://quay.io/v2/` → quay.io; `quay.io/org` → quay.io with a repository path. */
function splitKey(key: string): { host: string; hasRepository: boolean } | undefined {
  const withoutScheme = key.replace(/^https?:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  const hostPart = slash < 0 ? withoutScheme : withoutScheme.slice(0, slash);
  const path = slash < 0 ? '' : withoutScheme.slice(slash);
  try {
    const host = parseRegistry(hostPart);
    return { host, hasRepository: !/^(?:\/(?:v[12]\/?)?)?$/.test(path) };
  } catch {
    return undefined; // a key that names no valid host cannot match
  }
}
