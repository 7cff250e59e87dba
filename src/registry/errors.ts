import { TarpushError, type ErrorCode } from '../errors.js';
import { DOCKER_HUB_REGISTRY } from '../reference/registry-host.js';
import { printable, snippet } from '../util/printable.js';
import { describeSource, type Credential } from './credentials/types.js';

/**
 * Registry answers and network failures as TarpushErrors. A message names what was being
 * done, the method, the URL without its query (upload URLs carry state tokens there) and the
 * registry's own error code; it never holds a header value, token or password.
 */

/** One entry of the `{"errors":[…]}` body of the distribution spec. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** How the failed request was authenticated: decides between AUTH_REQUIRED / CREDENTIALS_INVALID / AUTH_DENIED. */
export interface AuthContext {
  sent: 'none' | 'basic' | 'bearer';
  /** Whether a credential (not anonymous) stood behind what was sent. */
  withCredential: boolean;
  scopes?: readonly string[];
  /** Where the credential came from (a Credential's `source`), to name it when it is refused. */
  source?: string;
  /** Credential helpers the search passed over because they are not installed. */
  missingHelpers?: readonly string[];
}

/** `; log in with tarpush login HOST` and, when some were skipped, the helpers that are not installed. */
export function loginHint(registry: string, missingHelpers: readonly string[] = []): string {
  const missing = missingHelpers.length ? ` (${missingHelpers.join(', ')} ${missingHelpers.length > 1 ? 'are' : 'is'} not installed, so ${missingHelpers.length > 1 ? 'they were' : 'it was'} skipped)` : '';
  return `; log in with tarpush login ${registry === DOCKER_HUB_REGISTRY ? 'docker.io' : registry}${missing}`;
}

/** ` from SOURCE` for a refused credential. */
const fromSource = (auth: AuthContext | undefined): string => (auth?.source ? ` from ${describeSource(auth.source)}` : '');

/** `scheme://host[:port]/path`: no user info, no query, no fragment. */
export function safeUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(invalid URL)';
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, // JWTs
  /\b(access_token|refresh_token|id_token|identitytoken|token|password)=[^&\s"]+/gi,
  /"(access_token|refresh_token|id_token|identitytoken|token|password)"\s*:\s*"[^"]*"/gi,
];

/**
 * The secrets one credential makes, as a server could echo them: the secret itself and the
 * Basic values built from it (`user:secret`, `:secret`, and the bare secret, base64 and
 * base64url). redactSecrets adds the URL-, form- and JSON-escaped spellings of each.
 */
export function credentialSecrets(c: Credential): string[] {
  const secret = c.kind === 'basic' ? c.password : c.token;
  // what auth.ts and token.ts put before the colon of a Basic value
  const username = c.kind === 'bearer' ? '' : (c.username ?? '<token>');
  const out = [secret];
  for (const plain of [`${username}:${secret}`, `:${secret}`, secret]) {
    const b = Buffer.from(plain, 'utf8');
    out.push(b.toString('base64'), b.toString('base64url'), b.toString('base64').replace(/=+$/, ''));
  }
  return out;
}

/** The spellings of one secret in a body: raw, URL-encoded, form-encoded, JSON-escaped. */
function spellings(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), JSON.stringify(secret).slice(1, -1)]);
  return [...forms].sort((a, b) => b.length - a.length); // longest first: no half-redacted leftovers
}

/**
 * The one redactor: remove every `known` secret (passwords, refresh tokens, tokens, Basic
 * values — see credentialSecrets) in every spelling, and anything that looks like a
 * credential (Authorization values, JWTs, token/password parameters), from text a server or
 * a helper wrote before it is quoted in an error or a log line.
 */
export function redactSecrets(text: string, known: Iterable<string> = []): string {
  let out = text;
  for (const secret of known) {
    if (secret.length < 4) continue;
    for (const form of spellings(secret)) out = out.split(form).join('[redacted]');
  }
  for (const re of SECRET_PATTERNS) out = out.replace(re, (_m, p1: string) => (typeof p1 === 'string' ? `${p1} [redacted]` : '[redacted]'));
  return out;
}

/** Parse an error body; anything else yields an empty list. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const e of errors) {
    if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') {
      const { code, message, detail } = e as { code: string; message?: unknown; detail?: unknown };
      out.push({ code, message: typeof message === 'string' ? message : undefined, detail });
    }
  }
  return out;
}

const NOT_FOUND_CODES = new Set(['BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']);

function describeEntries(entries: RegistryErrorEntry[], body: string): string {
  if (entries.length > 0) {
    return entries
      .map((e) => {
        const detail = e.detail === undefined || e.detail === null ? '' : ` ${snippet(JSON.stringify(e.detail), 300)}`;
        return `${snippet(e.code, 60)}${e.message ? ` (${snippet(e.message, 300)})` : ''}${detail}`;
      })
      .slice(0, 5)
      .join('; ');
  }
  return snippet(body, 200);
}

export interface StatusErrorInput {
  /** What we were doing, e.g. `manifest team/app:v1`. */
  what: string;
  method: string;
  url: URL | string;
  status: number;
  /** Response body text (already bounded by the caller). */
  body?: string;
  /** The WWW-Authenticate `error` parameter, e.g. insufficient_scope. */
  authError?: string;
  auth?: AuthContext;
  /** Secrets the client holds, removed from anything quoted. */
  secrets?: Iterable<string>;
  /** The answer came from another host than the registry (a redirect): quote only a short snippet. */
  foreign?: boolean;
}

/** A TarpushError for an HTTP answer we cannot act on. */
export function statusError(input: StatusErrorInput): TarpushError {
  const body = input.body ?? '';
  const entries = parseErrorBody(body);
  const registryCode = entries[0]?.code;
  const url = safeUrl(input.url);
  // Redacted before anything is cut or unescaped, so no part of a secret survives a cut.
  const clean = redactSecrets(body, input.secrets);
  const described = input.foreign ? snippet(clean, 80) : describeEntries(parseErrorBody(clean), clean);
  let code: ErrorCode;
  let hint = '';
  const scopes = input.auth?.scopes?.length ? ` (scope ${input.auth.scopes.join(' ')})` : '';
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return 'REGISTRY';
    }
  })();
  const login = loginHint(host, input.auth?.missingHelpers);
  if (input.status === 401) {
    if (input.authError === 'insufficient_scope' || input.auth?.sent === 'bearer') {
      code = input.auth?.withCredential ? 'AUTH_DENIED' : 'AUTH_REQUIRED';
      hint = input.auth?.withCredential
        ? `: the credential${fromSource(input.auth)} is not allowed${scopes}`
        : `: anonymous access is not allowed${scopes}${login}`;
    } else if (input.auth?.sent === 'basic') {
      code = 'CREDENTIALS_INVALID';
      hint = `: the registry refused the username/password${fromSource(input.auth)}`;
    } else {
      code = 'AUTH_REQUIRED';
      hint = `: authentication required${login}`;
    }
  } else if (input.status === 403 || registryCode === 'DENIED') {
    code = 'AUTH_DENIED';
    hint = `: access denied${scopes}`;
  } else if (input.status === 404 || (registryCode !== undefined && NOT_FOUND_CODES.has(registryCode) && input.status < 500)) {
    code = 'NOT_FOUND';
  } else if (input.status === 405 || registryCode === 'UNSUPPORTED') {
    code = 'UNSUPPORTED';
    hint = ': the registry does not support this operation';
  } else {
    code = 'REGISTRY_ERROR';
    if (input.status === 429) hint = ': too many requests';
  }
  const message = `${input.what}: ${input.method} ${url} answered ${input.status}${described ? ` ${described}` : ''}${hint}`;
  return new TarpushError(code, message, {
    status: input.status,
    method: input.method,
    url,
    ...(registryCode !== undefined ? { registryCode: printable(registryCode) } : {}),
  });
}

/** Error codes of Node/undici that mean the connection failed and the request may be tried again. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_RETRY',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Error codes of a chain (error, cause, cause's cause…). */
export function codesOf(err: unknown): string[] {
  const out: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** Whether a failure to get an answer is worth another try (connection reset, timeout, refused). */
export function isTransientNetworkError(err: unknown): boolean {
  if (err instanceof TarpushError) return err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT';
  return codesOf(err).some((c) => TRANSIENT_CODES.has(c));
}

const CERT_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID)/;

/** Whether the error is a TLS certificate verification failure (a TLS server is there, but not trusted). */
export function isCertificateError(err: unknown): boolean {
  return codesOf(err).some((c) => CERT_CODE.test(c));
}

/** What a connection failure means, in words, for the codes people meet first. */
const PLAIN_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port?)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Whether an https request met a server that answers in plain HTTP (the TLS record is not TLS). */
export function isPlainHttpAnswer(err: unknown): boolean {
  return codesOf(err).includes('ERR_SSL_WRONG_VERSION_NUMBER') || /wrong version number|packet length too long|http request/i.test(err instanceof Error ? err.message : '');
}

/** A TarpushError (NETWORK_ERROR or TIMEOUT) for a request that got no answer. */
export function networkError(err: unknown, method: string, url: URL | string, what: string): TarpushError {
  if (err instanceof TarpushError) return err;
  const codes = codesOf(err);
  const code = codes[0];
  const timeout = codes.some((c) => TIMEOUT_CODES.has(c));
  const details = { method, url: safeUrl(url), ...(code ? { errno: code } : {}) };
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol === 'https:' && isPlainHttpAnswer(err)) {
    // OpenSSL's record-layer dump says nothing a user can act on.
    return new TarpushError('NETWORK_ERROR', `${what}: ${u.host} speaks plain HTTP, not HTTPS (${method} ${safeUrl(url)}); use --plain-http`, details, { cause: err });
  }
  const plain = codes.map((c) => PLAIN_REASONS[c]).find((r) => r !== undefined);
  if (plain) return new TarpushError('NETWORK_ERROR', `${what}: ${method} ${safeUrl(url)}: ${plain}`, details, { cause: err });
  const raw = err instanceof Error ? err.message : String(err);
  let hint = '';
  if (isCertificateError(err)) hint = ' (TLS certificate not trusted: pass the registry CA with --ca-file, or --insecure)';
  const message = `${what}: ${method} ${safeUrl(url)} failed: ${snippet(redactSecrets(raw), 300)}${code && !raw.includes(code) ? ` (${code})` : ''}${hint}`;
  return new TarpushError(timeout ? 'TIMEOUT' : 'NETWORK_ERROR', message, details, { cause: err });
}
