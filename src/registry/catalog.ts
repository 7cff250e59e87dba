import { TarpushError } from '../errors.js';
import { readJson } from './body.js';
import type { RegistryClient } from './client.js';
import { safeUrl } from './errors.js';
import { nextLink } from './pagination.js';
import { withReadRetries } from './read-retry.js';
import { catalogScope } from './scope.js';

/**
 * `GET /v2/_catalog`, following `Link` pages. distribution answers with a relative Link
 * (`</v2/_catalog?last=…&n=…>; rel="next"`), resolved against the request URL.
 */
export async function* listCatalog(client: RegistryClient, opts: { n?: number; last?: string } = {}): AsyncGenerator<string> {
  const base = await client.baseUrl();
  let url: URL | undefined = new URL('/v2/_catalog', base);
  if (opts.n !== undefined) url.searchParams.set('n', String(opts.n));
  if (opts.last !== undefined) url.searchParams.set('last', opts.last);
  const seen = new Set<string>();
  const what = `catalog of ${client.registry}`;
  while (url) {
    if (seen.has(url.href)) {
      throw new TarpushError('REGISTRY_ERROR', `${what}: pagination loops back to ${safeUrl(url)}`, { url: safeUrl(url) });
    }
    seen.add(url.href);
    const page: URL = url;
    const { body, next, answered } = await withReadRetries(client, what, async () => {
      const resp = await client.request({ method: 'GET', url: page, scopes: [catalogScope], what });
      if (resp.status !== 200) throw await client.failure(resp, what, 'GET');
      const next = nextLink(resp.headers.link, resp.url);
      return { body: await readJson<{ repositories?: unknown }>(resp, 64 << 20, what), next, answered: resp.url };
    });
    const items = body.repositories ?? [];
    if (!Array.isArray(items)) throw new TarpushError('REGISTRY_ERROR', `${what}: "repositories" is not a list`, { url: safeUrl(answered) });
    for (const r of items) if (typeof r === 'string') yield r;
    url = next;
  }
}
