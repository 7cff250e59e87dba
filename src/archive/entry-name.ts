/**
 * Names of entries inside an archive, made comparable and safe: image archives refer to
 * entries by name (manifest.json, index.json, symlink targets), and tools write the same
 * name as `./a//b` or `a/b`. A name that could reach outside the archive root is refused,
 * whether or not we would ever extract it.
 */

/**
 * Normalise a tar entry name: drop leading `./`, collapse `//` and `/./`, drop a trailing
 * `/`. Returns `''` for the archive root itself (`.` or `./`). Returns undefined for names
 * that are absolute or contain `..` segments.
 */
export function normaliseEntryName(raw: string): string | undefined {
  if (raw.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return undefined;
    parts.push(seg);
  }
  return parts.join('/');
}

/** Directory part of a normalised name (`''` at the root). */
export function dirOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}

/**
 * Resolve `..` and `.` in a path relative to the archive root. Returns undefined when the
 * path climbs above the root or is absolute: a link target that escapes the archive.
 */
export function resolveWithinRoot(path: string): string | undefined {
  if (path.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return parts.join('/');
}
