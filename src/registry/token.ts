import { TarpushError } from '../errors.js';
import { readText } from './body.js';
import { describeSource, type Credential } from './credentials/types.js';
import { snippet } from '../util/printable.js';
import { credentialSecrets, loginHint, redactSecrets, safeUrl } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { normaliseScopes, scopesCover } from './scope.js';
import type { HttpResponse, Transport } from './transport.js';
import { checkCredentialChannel, checkHandedUrl } from './url-policy.js';

/**
 * Bearer tokens from a registry's token server (the distribution token spec and its OAuth2
 * variant). With a secret (password or refresh token) the OAuth2 POST form is tried first,
 * falling back to GET with Basic credentials when the server will not take it (404/405, and
 * 400/401 which some registries answer to an unknown POST); anonymous requests use GET.
 * Tokens are cached per realm/service and scope set, and reused for any request whose scopes
 * they cover, until shortly before they expire.
 */

export interface TokenEndpoint {
  realm: string;
  service?: string;
}

export interface Token {
  readonly value: string;
  /** Local time (ms) after which the token is treated as expired. */
  readonly expiresAt: number;
  readonly lifetimeMs: number;
  /** What we asked for (the server may have granted less: that shows up later as insufficient_scope). */
  readonly scopes: readonly string[];
  readonly endpoint: string;
}

/** Tokens whose expiry is closer than this are renewed before use. */
export function renewMargin(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 10);
}

const endpointKey = (e: TokenEndpoint): string => `${e.realm}\u0000${e.service ?? ''}`;

/** Tokens per endpoint, looked up by coverage of the scopes a request needs. */
export class TokenCache {
  private readonly tokens: Token[] = [];
  private readonly pending = new Map<string, Promise<Token>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A cached token covering `scopes` that is not about to expire. */
  find(endpoint: TokenEndpoint, scopes: readonly string[]): Token | undefined {
    const key = endpointKey(endpoint);
    const t = this.now();
    for (let i = this.tokens.length - 1; i >= 0; i--) {
      const tok = this.tokens[i]!;
      if (t >= tok.expiresAt - renewMargin(tok.lifetimeMs)) {
        this.tokens.splice(i, 1);
        continue;
      }
      if (tok.endpoint === key && scopesCover(tok.scopes, scopes)) return tok;
    }
    return undefined;
  }

  /** The cached token, or the one `fetch` produces (concurrent callers share one fetch). */
  async obtain(endpoint: TokenEndpoint, scopes: readonly string[], fetch: () => Promise<Omit<Token, 'endpoint'>>): Promise<Token> {
    const cached = this.find(endpoint, scopes);
    if (cached) return cached;
    const key = `${endpointKey(endpoint)}\u0000${normaliseScopes(scopes).join(' ')}`;
    let p = this.pending.get(key);
    if (!p) {
      p = fetch()
        .then((tok) => {
          const full: Token = { ...tok, endpoint: endpointKey(endpoint) };
          this.tokens.push(full);
          return full;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** Forget every token (the registry refused one of them). */
  clear(): void {
    this.tokens.length = 0;
  }
}

interface TokenAnswer {
  token?: unknown;
  access_token?: unknown;
  expires_in?: unknown;
  issued_at?: unknown;
}

const POST_FALLBACK_STATUSES = new Set([400, 401, 404, 405]);

/** Fetches tokens over a Transport. Remembers realms that refused the OAuth2 POST. */
export class TokenFetcher {
  private readonly postRefused = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly opts: ResolvedOptions,
    private readonly registry: string,
  ) {}

  async fetch(endpoint: TokenEndpoint, scopes: readonly string[], credential: Credential | undefined, missingHelpers: readonly string[] = []): Promise<Omit<Token, 'endpoint'>> {
    let realm: URL;
    try {
      realm = new URL(endpoint.realm);
    } catch {
      throw new TarpushError('REGISTRY_ERROR', `${this.registry} named an invalid token realm`, { registry: this.registry });
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new TarpushError('REGISTRY_ERROR', `${this.registry} named a token realm that is not http(s): ${safeUrl(realm)}`);
    }
    checkHandedUrl(realm, `${this.registry}: the token realm`, new URL(`http://${this.registry}/`).hostname);
    const sorted = normaliseScopes(scopes);
    const secret = credential && credential.kind !== 'bearer';
    // Even on the registry's own host: an https registry naming an http realm would have us
    // send the password in clear.
    if (secret) checkCredentialChannel(realm, `${this.registry}: token realm`);
    const started = Date.now();
    let resp: HttpResponse | undefined;
    let method: 'GET' | 'POST' = 'GET';
    if (secret && !this.postRefused.has(realm.href)) {
      method = 'POST';
      resp = await this.post(realm, endpoint.service, sorted, credential);
      if (POST_FALLBACK_STATUSES.has(resp.status)) {
        await readText(resp, 1024);
        this.postRefused.add(realm.href);
        this.opts.log({ type: 'fallback', what: 'token-get', reason: `token POST answered ${resp.status}`, url: safeUrl(realm) });
        resp = undefined;
      }
    }
    if (!resp) {
      method = 'GET';
      resp = await this.get(realm, endpoint.service, sorted, credential);
    }
    if (resp.status !== 200) {
      const known = credential ? credentialSecrets(credential) : [];
      const body = snippet(redactSecrets(await readText(resp, 4096), known), 200);
      const what = `token for ${sorted.join(' ') || 'the registry'} from ${safeUrl(realm)}`;
      const details = { status: resp.status, method, url: safeUrl(realm), phase: 'token', scopes: sorted };
      if (resp.status === 401) {
        throw credential
          ? new TarpushError('CREDENTIALS_INVALID', `${what}: the token server refused the credentials from ${describeSource(credential.source)} (401)`, details)
          : new TarpushError('AUTH_REQUIRED', `${what}: anonymous access refused (401)${loginHint(this.registry, missingHelpers)}`, details);
      }
      if (resp.status === 403) throw new TarpushError('AUTH_DENIED', `${what}: access denied (403)${body ? ` ${body}` : ''}`, details);
      throw new TarpushError('REGISTRY_ERROR', `${what}: answered ${resp.status}${body ? ` ${body}` : ''}`, details);
    }
    const text = await readText(resp, 64 << 10);
    let answer: TokenAnswer;
    try {
      answer = JSON.parse(text) as TokenAnswer;
    } catch {
      throw new TarpushError('REGISTRY_ERROR', `token server ${safeUrl(realm)} answered with something that is not JSON`, {
        url: safeUrl(realm),
        phase: 'token',
      });
    }
    const pick = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const value = method === 'POST' ? pick(answer.access_token) ?? pick(answer.token) : pick(answer.token) ?? pick(answer.access_token);
    if (!value) {
      throw new TarpushError('REGISTRY_ERROR', `token server ${safeUrl(realm)} answered without a token`, { url: safeUrl(realm), phase: 'token' });
    }
    const expiresIn = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 60;
    // Expiry is counted from when we asked, on our clock: issued_at is the server's clock,
    // and a skewed server clock would make a fresh token look expired (or everlasting).
    const lifetimeMs = expiresIn * 1000;
    this.opts.log({ type: 'token', realm: safeUrl(realm), method, scopes: sorted, expiresIn });
    return { value, expiresAt: started + lifetimeMs, lifetimeMs, scopes: sorted };
  }

  private post(realm: URL, service: string | undefined, scopes: string[], credential: Credential): Promise<HttpResponse> {
    const form = new URLSearchParams();
    if (credential.kind === 'refresh-token') {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', credential.token);
    } else if (credential.kind === 'basic') {
      form.set('grant_type', 'password');
      form.set('username', credential.username);
      form.set('password', credential.password);
    }
    form.set('client_id', 'tarpush');
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    const body = form.toString();
    return this.transport.send({
      method: 'POST',
      url: realm,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: () => body,
      retry: 'idempotent',
      what: `token from ${safeUrl(realm)}`,
    });
  }

  private get(realm: URL, service: string | undefined, scopes: string[], credential: Credential | undefined): Promise<HttpResponse> {
    const url = new URL(realm.href);
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credential?.kind === 'basic') {
      url.searchParams.set('account', credential.username);
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
    } else if (credential?.kind === 'refresh-token') {
      const user = credential.username ?? '<token>';
      headers.authorization = `Basic ${Buffer.from(`${user}:${credential.token}`).toString('base64')}`;
    }
    return this.transport.send({ method: 'GET', url, headers, retry: 'idempotent', what: `token from ${safeUrl(realm)}` });
  }
}
