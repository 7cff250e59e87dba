/** Where docker, podman and skopeo keep registry credentials, and how tarpush finds them. */
export type { Credential, CredentialOptions } from './types.js';
export { findCredential } from './find-credential.js';
export { DEFAULT_HELPER_TIMEOUT_MS } from './credential-helper.js';
