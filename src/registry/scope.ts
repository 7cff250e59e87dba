/**
 * Token scopes (`type:name:actions`) as the distribution token spec writes them. A
 * repository name may not hold ':', but a resource name in general may (a registry host
 * with a port), so the actions are what follows the last ':'.
 */

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export const pullScope = (repository: string): string => `repository:${repository}:pull`;
export const pushScope = (repository: string): string => `repository:${repository}:pull,push`;
export const deleteScope = (repository: string): string => `repository:${repository}:delete`;
export const catalogScope = 'registry:catalog:*';

export function parseScope(s: string): Scope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter((a) => a !== '') };
}

function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

/**
 * Merge scopes: one entry per resource with the union of its actions, sorted, so equal
 * sets give equal cache keys. Unparseable scopes are kept as they are.
 */
export function normaliseScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Scope>();
  const opaque = new Set<string>();
  for (const raw of scopes) {
    const s = parseScope(raw);
    if (!s) {
      if (raw !== '') opaque.add(raw);
      continue;
    }
    const key = `${s.type}:${s.name}`;
    const existing = byResource.get(key);
    if (existing) existing.actions = [...new Set([...existing.actions, ...s.actions])];
    else byResource.set(key, { ...s, actions: [...new Set(s.actions)] });
  }
  const out = [...byResource.values()].map((s) => formatScope({ ...s, actions: [...s.actions].sort() }));
  return [...out, ...opaque].sort();
}

/** Whether a token asked for `have` also covers every action of `want`. */
export function scopesCover(have: readonly string[], want: readonly string[]): boolean {
  const held = new Map<string, Set<string>>();
  for (const raw of have) {
    const s = parseScope(raw);
    if (!s) continue;
    const key = `${s.type}:${s.name}`;
    const set = held.get(key) ?? new Set<string>();
    for (const a of s.actions) set.add(a);
    held.set(key, set);
  }
  for (const raw of want) {
    const s = parseScope(raw);
    if (!s) {
      if (!have.includes(raw)) return false;
      continue;
    }
    const set = held.get(`${s.type}:${s.name}`);
    if (!set) return false;
    if (set.has('*')) continue;
    for (const a of s.actions) if (!set.has(a)) return false;
  }
  return true;
}
