import { parseRegistry } from '../reference/index.js';
import { withClient, type RemoteOptions } from './open.js';

export interface ListCatalogOptions extends RemoteOptions {
  /** Page size to ask for (`n`); distribution refuses more than 1000. */
  pageSize?: number;
}

export interface Catalog {
  /** Registry host as used for API calls. */
  registry: string;
  /** Repository names in the registry's order (distribution: sorted). */
  repositories: string[];
}

/** Largest page distribution accepts (n above it → 400 PAGINATION_NUMBER_INVALID). */
export const CATALOG_PAGE_MAX = 1000;

/**
 * Every repository of a registry (`GET /v2/_catalog`, following `Link` pagination). Many
 * public registries (Docker Hub, GHCR) do not offer the catalog or limit it to admins: that
 * shows as AUTH_DENIED / UNSUPPORTED / NOT_FOUND from the registry.
 */
export async function listCatalog(registry: string, opts: ListCatalogOptions = {}): Promise<Catalog> {
  const host = parseRegistry(registry);
  const n = opts.pageSize === undefined ? undefined : Math.min(Math.max(1, Math.floor(opts.pageSize)), CATALOG_PAGE_MAX);
  return withClient(host, opts, async (client) => {
    const repositories: string[] = [];
    for await (const name of client.catalog(n === undefined ? {} : { n })) repositories.push(name);
    return { registry: host, repositories };
  });
}
