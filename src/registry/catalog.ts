import type { RegistryClient } from './client.js';
import { followPages } from './pagination.js';
import { catalogScope } from './scope.js';

/**
 * `GET /v2/_catalog`, following `Link` pages. distribution answers with a relative Link
 * (`</v2/_catalog?last=…&n=…>; rel="next"`), resolved against the request URL.
 */
export async function* listCatalog(client: RegistryClient, opts: { n?: number; last?: string } = {}): AsyncGenerator<string> {
  const first = new URL('/v2/_catalog', await client.baseUrl());
  if (opts.n !== undefined) first.searchParams.set('n', String(opts.n));
  if (opts.last !== undefined) first.searchParams.set('last', opts.last);
  yield* followPages({ client, first, scopes: [catalogScope], what: `catalog of ${client.registry}`, field: 'repositories', maxBytes: 64 << 20 });
}
