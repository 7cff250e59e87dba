/** What a registry login resolves to, and where to look for it. */

/**
 * A credential for one registry. `source` says where it was found (a file path, `flag`,
 * `env`, or `credential helper docker-credential-<name>`) and never holds the secret.
 */
export type Credential =
  | { kind: 'basic'; username: string; password: string; source: string }
  /** docker config `identitytoken` (or a helper's `<token>` answer): an OAuth2 refresh token. */
  | { kind: 'refresh-token'; username?: string; token: string; source: string }
  /** docker config `registrytoken`: sent as a bearer token as is. */
  | { kind: 'bearer'; token: string; source: string };

export interface CredentialOptions {
  /** From `--username`; needs `password` too. */
  username?: string;
  /** From `--password-stdin`. */
  password?: string;
  /**
   * Registries (`docker.io`, `localhost:5000`, any form parseRegistry takes) that `username`/
   * `password` and env TARPUSH_USERNAME/TARPUSH_PASSWORD belong to; others only get what
   * credential files and helpers hold for them. Undefined: every registry.
   */
  credentialHosts?: string[];
  /** `--authfile`: a docker config.json or a containers auth.json; must exist when given. */
  authfile?: string;
  /**
   * Repository path (`org/app`) the credential is for. Only used to prefer the most specific
   * per-repository entry of a containers auth.json (`quay.io/org/app` over `quay.io/org`).
   */
  repository?: string;
  /** Environment to read (and to run credential helpers with); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Home directory; defaults to os.homedir(). */
  homeDir?: string;
  /** How long a credential helper may run; default 30 000 ms. */
  helperTimeoutMs?: number;
  /** Notes on skipped places (missing helper, unreadable optional file); never secrets. */
  debug?: (message: string) => void;
}

/** Where a credential came from, as a message names it (a Credential's `source` in words). */
export function describeSource(source: string): string {
  if (source === 'flag') return '--username and --password-stdin';
  if (source === 'env') return 'TARPUSH_USERNAME and TARPUSH_PASSWORD';
  if (source.startsWith('credential helper ')) return source;
  return `credentials file ${source}`;
}

/** A credential and what the search passed over on the way (helpers that are not installed). */
export interface CredentialLookup {
  credential?: Credential;
  /** `docker-credential-<name>` programs a config named but PATH does not hold. */
  missingHelpers: string[];
}
