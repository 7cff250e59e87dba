import { repositoryName } from '../reference/index.js';
import { toRepository, withClient, type RemoteOptions } from './open.js';

export interface ListTagsOptions extends RemoteOptions {
  /** Page size to ask for (`n`); registries may ignore it. */
  pageSize?: number;
}

export interface TagList {
  /** `registry/repository`. */
  name: string;
  /** Tags in the order the registry lists them (distribution: storage order, not sorted). */
  tags: string[];
}

/**
 * Every tag of a repository, following `Link` pagination, in the registry's order (as
 * skopeo list-tags keeps it). A repository without tags (`"tags": null`) gives an empty list;
 * an unknown repository is NOT_FOUND.
 */
export async function listTags(repo: { registry: string; repository: string } | string, opts: ListTagsOptions = {}): Promise<TagList> {
  const r = toRepository(repo);
  return withClient(r.registry, opts, async (client) => {
    const tags: string[] = [];
    for await (const tag of client.repository(r.repository).tags(opts.pageSize ? { n: opts.pageSize } : {})) tags.push(tag);
    return { name: repositoryName(r), tags };
  });
}
