import { readFileSync } from 'node:fs';

/**
 * Options of a registry client and their defaults, in one place. Everything the network code
 * tunes (tries, waits, timeouts, upload sizes) is read from a `ResolvedOptions`.
 */

/** Debug events a client reports through `ClientOptions.log`. URLs carry no query; no secrets ever. */
export type ClientEvent =
  | { type: 'request'; method: string; url: string; status: number; ms: number }
  | { type: 'retry'; method: string; url: string; attempt: number; delayMs: number; reason: string }
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
  /**
   * Registry hosts that `username`/`password` and TARPUSH_USERNAME/TARPUSH_PASSWORD belong to
   * (the hosts the user wrote). Other hosts get only what credential files hold for them.
   * Undefined: every host.
   */
  credentialHosts?: string[];
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
  /** How many times a failed idempotent request (or transient failure) is retried: default 4, i.e. 5 tries. */
  retries?: number;
  /** Per-request idle limit in ms: a request that receives no byte for this long fails (and may be retried). */
  timeoutMs?: number;
  /** Milliseconds. connect (default 30 s), headers (60 s), body idle time (5 min). */
  timeouts?: { connect?: number; headers?: number; body?: number };
  /** Default `tarpush/<version>`. */
  userAgent?: string;
  /** Force chunked PATCH uploads of this many bytes (otherwise monolithic/streamed). */
  chunkSize?: number;
  /** Debug events (retries, fallbacks, redirects). Never carries secrets. */
  log?: (event: ClientEvent) => void;
  /** First backoff step in ms (default 200); waits are random in [0, base·2^n] (full jitter). */
  retryBaseMs?: number;
  /** Longest single wait before a retry, also caps Retry-After (default 60 000 ms). */
  maxRetryWaitMs?: number;
  /** Directory for the spool file of a stream the registry would not take as PATCH (default os.tmpdir()). */
  tmpDir?: string;
}

export interface ResolvedOptions {
  readonly credentials: Pick<ClientOptions, 'username' | 'password' | 'authfile' | 'env' | 'homeDir'>;
  readonly insecure: boolean;
  readonly plainHttp: boolean;
  readonly caFile: string | undefined;
  readonly tries: number;
  readonly connectTimeout: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly userAgent: string;
  readonly chunkSize: number | undefined;
  readonly retryBaseMs: number;
  readonly maxRetryWaitMs: number;
  readonly tmpDir: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (event: ClientEvent) => void;
}

/** Defaults the CLI's --help quotes. */
export const clientDefaults = { retries: 4, timeoutMs: 30_000 } as const;

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

function positive(n: number | undefined, fallback: number, what: string): number {
  if (n === undefined) return fallback;
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a non-negative number, got ${n}`);
  return n;
}

export function resolveOptions(opts: ClientOptions = {}): ResolvedOptions {
  const chunkSize = opts.chunkSize === undefined ? undefined : positive(opts.chunkSize, 0, 'chunkSize');
  if (chunkSize !== undefined && chunkSize < 1) throw new RangeError('chunkSize must be at least 1 byte');
  return {
    credentials: {
      username: opts.username,
      password: opts.password,
      authfile: opts.authfile,
      env: opts.env,
      homeDir: opts.homeDir,
    },
    insecure: opts.insecure ?? false,
    plainHttp: opts.plainHttp ?? false,
    caFile: opts.caFile,
    tries: Math.floor(positive(opts.retries, clientDefaults.retries, 'retries')) + 1,
    connectTimeout: positive(opts.timeouts?.connect, 30_000, 'timeouts.connect'),
    headersTimeout: positive(opts.timeouts?.headers, 60_000, 'timeouts.headers'),
    bodyTimeout: positive(opts.timeouts?.body, 300_000, 'timeouts.body'),
    userAgent: opts.userAgent ?? `tarpush/${TARPUSH_VERSION}`,
    chunkSize,
    retryBaseMs: positive(opts.retryBaseMs, 200, 'retryBaseMs'),
    maxRetryWaitMs: positive(opts.maxRetryWaitMs, 60_000, 'maxRetryWaitMs'),
    tmpDir: opts.tmpDir,
    env: opts.env ?? process.env,
    log: opts.log ?? (() => {}),
  };
}
