import { followPages } from './pagination.js';
import type { Repository } from './repository.js';
import { pullScope } from './scope.js';

/**
 * `GET /v2/<name>/tags/list`, following `Link: <…>; rel="next"` pages (relative or absolute).
 * `"tags": null` (distribution, for a repository without tags) is an empty list.
 */
export async function* listTags(repo: Repository, opts: { n?: number; last?: string } = {}): AsyncGenerator<string> {
  const first = new URL(repo.apiPath('tags/list'), await repo.client.baseUrl());
  if (opts.n !== undefined) first.searchParams.set('n', String(opts.n));
  if (opts.last !== undefined) first.searchParams.set('last', opts.last);
  yield* followPages({ client: repo.client, first, scopes: [pullScope(repo.repository)], what: `tags of ${repo.name}`, field: 'tags', maxBytes: 16 << 20 });
}
