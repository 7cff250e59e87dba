/** Where docker, podman and skopeo keep registry credentials, and how tarpush finds them. */
export type { Credential, CredentialLookup, CredentialOptions } from './types.js';
export { describeSource } from './types.js';
export { findCredential, lookUpCredential } from './find-credential.js';
export { DEFAULT_HELPER_TIMEOUT_MS } from './credential-helper.js';
