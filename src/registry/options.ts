import { readFileSync } from 'node:fs';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';

/**
 * Options of a registry client and their defaults, in one place. Everything the network code
 * tunes (tries, waits, timeouts, upload sizes) is read from a `ResolvedOptions`.
 */

/** Debug events a client reports through `ClientOptions.log`. URLs carry no query; no secrets ever. */
export type ClientEvent =
  | { type: 'request'; method: string; url: string; status: number; ms: number }
  /**
   * A try failed and another follows after `delayMs`: this is retry `attempt` of at most `of`
   * in a row. `reason` is short: a status (`503`), an error code (`ECONNRESET`), `timeout`.
   */
  | { type: 'retry'; method: string; url: string; attempt: number; of: number; delayMs: number; reason: string }
  | { type: 'redirect'; method: string; from: string; to: string; droppedAuthorization: boolean }
  | { type: 'fallback'; what: FallbackKind; reason: string; url?: string }
  | { type: 'auth'; scheme: 'basic' | 'bearer' | 'none'; credential?: string; scopes?: string[] }
  | { type: 'token'; realm: string; method: 'GET' | 'POST'; scopes: string[]; expiresIn: number }
  | { type: 'upload'; digest: string; path: UploadPath; bytes: number }
  | { type: 'resume'; digest: string; offset: number; reason: string };

export type FallbackKind =
  | 'http' // loopback registry answered plain HTTP only
  | 'token-get' // OAuth2 POST refused: token by GET
  | 'single-post' // registry ignored the body of a single POST
  | 'chunked' // registry refused a body size: chunked PATCH
  | 'spool' // registry refused a streamed PATCH: spool to a temp file
  | 'mount' // mount not possible: upload
  | 'restart'; // upload session lost: start again

export type UploadPath = 'single-post' | 'monolithic' | 'chunked' | 'stream' | 'mount';

export interface ClientOptions {
  /** Credentials given explicitly; otherwise docker/podman config and env are searched. */
  username?: string;
  password?: string;
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** Skip TLS certificate verification for the registry host (not for other hosts). */
  insecure?: boolean;
  /**
   * Always use http://. Without it, https:// is used, except for a loopback registry
   * (localhost, 127.0.0.0/8, ::1) that does not speak TLS: see `ping.ts` for the exact rule.
   */
  plainHttp?: boolean;
  /** PEM file with extra CA certificates, trusted in addition to the system ones. */
  caFile?: string;
  /**
   * Retries in a row for a failed request or upload step (5xx, 429, 408, resets, refused
   * connections, timeouts): default 10. Retries stop earlier when `retryWindowMs` has passed
   * since the first failure of the run. See retry.ts for how the defaults fit together.
   */
  retries?: number;
  /**
   * Per-request idle limit in ms: connecting, waiting for the answer, or a body (either way)
   * making no progress for this long fails the try (TIMEOUT, retried). Default 30 000.
   */
  timeoutMs?: number;
  /**
   * Total time in ms for a response that is read whole (manifest, config, token, tag or
   * catalog page, error body), across all its tries. Default 60 000.
   */
  readTimeoutMs?: number;
  /** No retry starts later than this many ms after the first failure of a run. Default 30 000. */
  retryWindowMs?: number;
  /** Default `tarpush/<version>`. */
  userAgent?: string;
  /** Force chunked PATCH uploads of this many bytes (otherwise monolithic/streamed). */
  chunkSize?: number;
  /** Debug events (retries, fallbacks, redirects). Never carries secrets. */
  log?: (event: ClientEvent) => void;
  /** First backoff step in ms (default 500); step n is base·2^(n-1), the wait random in [step/2, step). */
  retryBaseMs?: number;
  /** Longest single wait before a retry, also caps Retry-After (default 5 000 ms). */
  maxRetryWaitMs?: number;
  /**
   * Registry hosts (as written by the user: `docker.io`, `localhost:5000`…) that the explicit
   * credentials — `username`/`password` and env TARPUSH_USERNAME/TARPUSH_PASSWORD — belong to.
   * Any other registry gets only what credential files and helpers hold for it. Undefined:
   * explicit credentials go to every registry this options object is used for.
   */
  credentialHosts?: string[];
  /** Directory for the spool file of a stream the registry would not take as PATCH (default os.tmpdir()). */
  tmpDir?: string;
}

export interface ResolvedOptions {
  readonly credentials: Pick<ClientOptions, 'username' | 'password' | 'authfile' | 'env' | 'homeDir' | 'credentialHosts'>;
  readonly insecure: boolean;
  readonly plainHttp: boolean;
  readonly caFile: string | undefined;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly readTimeoutMs: number;
  readonly retryWindowMs: number;
  readonly userAgent: string;
  readonly chunkSize: number | undefined;
  readonly retryBaseMs: number;
  readonly maxRetryWaitMs: number;
  readonly tmpDir: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (event: ClientEvent) => void;
}

/** Blobs up to this size try the single `POST ?digest=` with the body. */
export const SINGLE_POST_MAX = 1 << 20;
/** First chunk size when a registry refuses a body size and no chunkSize was given. */
export const DEFAULT_CHUNK = 8 << 20;
/** Smallest chunk we shrink to when a registry keeps refusing body sizes. */
export const MIN_CHUNK = 64 << 10;
/** Largest manifest we read (distribution refuses above 4 MiB; leave room for others). */
export const MANIFEST_MAX = 8 << 20;

function packageVersion(): string {
  try {
    // dist/src/registry/options.js → package.json three levels up (also in the published package).
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const TARPUSH_VERSION = packageVersion();

/** Defaults, in one place (retry.ts says why these numbers); the CLI's --help quotes them. */
export const clientDefaults = { retries: 10, timeoutMs: 30_000, readTimeoutMs: 60_000, retryWindowMs: 30_000 } as const;

// 0 would mean "no limit" to undici: the smallest limit is 1 ms.
const atLeastOne = (n: number): number => Math.max(1, n);

/** A caller passed options no client can work with: a usage error (exit 2), not a registry failure. */
function misuse(message: string): TarpushError {
  return new TarpushError('USAGE', `registry client options: ${message}`);
}

function positive(n: number | undefined, fallback: number, what: string): number {
  if (n === undefined) return fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw misuse(`${what} must be a non-negative number, got ${printable(String(n))}`);
  return n;
}

/** Options with their defaults filled in; throws TarpushError('USAGE') for values out of range. */
export function resolveOptions(opts: ClientOptions = {}): ResolvedOptions {
  const chunkSize = opts.chunkSize === undefined ? undefined : positive(opts.chunkSize, 0, 'chunkSize');
  if (chunkSize !== undefined && chunkSize < 1) throw misuse(`chunkSize must be at least 1 byte, got ${chunkSize}`);
  return {
    credentials: {
      username: opts.username,
      password: opts.password,
      authfile: opts.authfile,
      env: opts.env,
      homeDir: opts.homeDir,
      credentialHosts: opts.credentialHosts,
    },
    insecure: opts.insecure ?? false,
    plainHttp: opts.plainHttp ?? false,
    caFile: opts.caFile,
    retries: Math.floor(positive(opts.retries, clientDefaults.retries, 'retries')),
    timeoutMs: atLeastOne(positive(opts.timeoutMs, clientDefaults.timeoutMs, 'timeoutMs')),
    readTimeoutMs: atLeastOne(positive(opts.readTimeoutMs, clientDefaults.readTimeoutMs, 'readTimeoutMs')),
    retryWindowMs: positive(opts.retryWindowMs, clientDefaults.retryWindowMs, 'retryWindowMs'),
    userAgent: opts.userAgent ?? `tarpush/${TARPUSH_VERSION}`,
    chunkSize,
    retryBaseMs: positive(opts.retryBaseMs, 500, 'retryBaseMs'),
    maxRetryWaitMs: positive(opts.maxRetryWaitMs, 5_000, 'maxRetryWaitMs'),
    tmpDir: opts.tmpDir,
    env: opts.env ?? process.env,
    log: opts.log ?? (() => {}),
  };
}
