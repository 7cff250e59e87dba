/**
 * tarpush's registry client: everything tarpush does on the network.
 *
 * `clientFor(registry, options)` (or `new RegistryClient`) gives one client per registry
 * host; `client.repository(name)` gives a Repository, an ImageSink with the read and delete
 * operations next to the upload ladder. Errors are TarpushErrors whose details carry
 * `status`, `method`, `url` (no query) and `registryCode`.
 */
export { RegistryClient, clientFor, closeSharedClients, type RegistryFeatures } from './client.js';
export { Repository } from './repository.js';
export type { FetchedManifest } from './manifest.js';
export { DEFAULT_MANIFEST_ACCEPT } from './manifest.js';
export type { ClientOptions, ClientEvent, FallbackKind, UploadPath } from './options.js';
export { TARPUSH_VERSION } from './options.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { pullScope, pushScope, deleteScope, catalogScope } from './scope.js';
export { readReferrersTag, recordReferrer, referrersTag } from './referrers.js';
