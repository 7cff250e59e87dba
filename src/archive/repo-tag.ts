/**
 * Docker's normalised form of a repo tag, used to match names written in different ways
 * (`alpine:3`, `library/alpine:3`, `docker.io/library/alpine:3`,
 * `index.docker.io/library/alpine:3` are one image). Same rules as the Docker CLI: the
 * first path component is a registry when it has a `.` or `:`, is `localhost`, or has
 * upper-case letters; Docker Hub names get `library/`; a missing tag means `latest`.
 */
export function normaliseRepoTag(ref: string): string {
  let name = ref.trim();
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  let tag = '';
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (!tag && !digest) tag = 'latest';

  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const isRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let registry = isRegistry ? first : 'docker.io';
  let path = isRegistry ? name.slice(slash + 1) : name;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return `${registry}/${path}${tag ? `:${tag}` : ''}${digest}`;
}

/** Whether two repo tags name the same image tag. */
export const sameRepoTag = (a: string, b: string): boolean => a === b || normaliseRepoTag(a) === normaliseRepoTag(b);
