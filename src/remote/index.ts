/**
 * Operations on images already in a registry: resolve a digest, describe, list tags and
 * repositories, add tags, delete. Each takes a reference (text or parsed) and RemoteOptions.
 */
export type { RemoteOptions } from './open.js';
export { resolveDigest, type ResolveDigestOptions } from './resolve-digest.js';
export { describeRemote, CONFIG_MAX, type DescribeRemoteOptions } from './describe-remote.js';
export { listTags, type ListTagsOptions, type TagList } from './list-tags.js';
export { listCatalog, CATALOG_PAGE_MAX, type ListCatalogOptions, type Catalog } from './list-catalog.js';
export { addTags, type AddTagsOptions, type AddTagsResult, type TaggedReference, type FailedTag } from './add-tags.js';
export { deleteReference, type DeleteResult } from './delete-ref.js';
export { parsePlatform, platformText, type PlatformSpec } from '../image/platform.js';
