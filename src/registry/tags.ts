import { readJson } from './body.js';
import { safeUrl } from './errors.js';
import { nextLink } from './pagination.js';
import { withReadRetries } from './read-retry.js';
import type { Repository } from './repository.js';
import { pullScope } from './scope.js';
import { TarpushError } from '../errors.js';

/**
 * `GET /v2/<name>/tags/list`, following `Link: <…>; rel="next"` pages (relative or absolute).
 * `"tags": null` (distribution, for a repository without tags) is an empty list.
 */
export async function* listTags(repo: Repository, opts: { n?: number; last?: string } = {}): AsyncGenerator<string> {
  const base = await repo.client.baseUrl();
  let url: URL | undefined = new URL(repo.apiPath('tags/list'), base);
  if (opts.n !== undefined) url.searchParams.set('n', String(opts.n));
  if (opts.last !== undefined) url.searchParams.set('last', opts.last);
  const seen = new Set<string>();
  const what = `tags of ${repo.name}`;
  while (url) {
    if (seen.has(url.href)) {
      throw new TarpushError('REGISTRY_ERROR', `${what}: pagination loops back to ${safeUrl(url)}`, { url: safeUrl(url) });
    }
    seen.add(url.href);
    const page: URL = url;
    const { body, next, answered } = await withReadRetries(repo.client, what, async () => {
      const resp = await repo.client.request({ method: 'GET', url: page, scopes: [pullScope(repo.repository)], what });
      if (resp.status !== 200) throw await repo.client.failure(resp, what, 'GET');
      const next = nextLink(resp.headers.link, resp.url);
      return { body: await readJson<{ tags?: unknown }>(resp, 16 << 20, what), next, answered: resp.url };
    });
    const items = body.tags ?? [];
    if (!Array.isArray(items)) throw new TarpushError('REGISTRY_ERROR', `${what}: "tags" is not a list`, { url: safeUrl(answered) });
    for (const t of items) if (typeof t === 'string') yield t;
    url = next;
  }
}
