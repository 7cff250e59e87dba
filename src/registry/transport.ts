import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, buildConnector, loadEnvHttpProxyAgent, type Connector, type Dispatcher } from './undici-parts.js';
import { TarpushError } from '../errors.js';
import { isLoopbackRegistry } from '../reference/index.js';
import { codesOf, isTransientNetworkError, networkError, safeUrl } from './errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * HTTP for one registry: an undici Agent (a keep-alive pool per origin), timeouts, retries
 * with exponential backoff and full jitter (Retry-After honoured), manual redirects that drop
 * credentials when the origin changes, and proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY —
 * never for loopback hosts. Knows nothing about auth or the registry API.
 */

export type RequestBody = Buffer | string | AsyncIterable<Uint8Array> | Readable;

/** Which failures a request may be repeated after. */
export type RetryPolicy =
  /** network errors before an answer, 408, 429 and 5xx: the request can be repeated as is */
  | 'idempotent'
  /** only answers that say the request was not processed (429) and refused connections */
  | 'refused-only'
  | 'never';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string | undefined>;
  /** Produces the body for one attempt; called again for each retry or redirect. */
  body?: () => RequestBody;
  /** Default: 'idempotent' for GET/HEAD/PUT/DELETE without a body, else 'refused-only'. */
  retry?: RetryPolicy;
  /** Default true for GET and HEAD. 307/308 are followed for other methods when true. */
  followRedirects?: boolean;
  /** Tries for this request (default: the client's). */
  tries?: number;
  /** For error messages: what the request was for. */
  what: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
  /** Whether a redirect went to another origin (credentials were dropped). */
  crossedOrigin: boolean;
}

/** First value of a response header (names are lower-case). */
export function header(resp: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = resp.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
// Connection failures where the request cannot have reached the server.
const REFUSED_CODES = /^(ECONNREFUSED|UND_ERR_CONNECT_TIMEOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)$/;

/** Milliseconds a Retry-After header asks for (delta-seconds or HTTP-date), or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

function hostnameOf(hostPort: string): string {
  return new URL(`http://${hostPort}`).hostname;
}

export class Transport {
  private readonly registryHostname: string;
  private readonly direct: Agent;
  private proxied: { registry?: Dispatcher; other?: Dispatcher } = {};
  private readonly proxyEnv: { httpProxy: string; httpsProxy: string; noProxy: string };
  private readonly tlsCa: string[] | undefined;

  constructor(
    readonly registry: string,
    readonly opts: ResolvedOptions,
  ) {
    this.registryHostname = hostnameOf(registry);
    // With an explicit CA list Node trusts only that list: add the system roots and
    // NODE_EXTRA_CA_CERTS (which Node applies to its default store only) so both stay trusted.
    if (opts.caFile) {
      const extra = opts.env.NODE_EXTRA_CA_CERTS;
      const ca = [...rootCertificates];
      if (extra) {
        try {
          ca.push(readFileSync(extra, 'utf8'));
        } catch {
          // Node already warned about an unreadable NODE_EXTRA_CA_CERTS at startup
        }
      }
      try {
        ca.push(readFileSync(opts.caFile, 'utf8'));
      } catch (err) {
        throw new TarpushError('USAGE', `cannot read the CA file ${opts.caFile}: ${(err as Error).message}`, { file: opts.caFile });
      }
      this.tlsCa = ca;
    }
    const verifying = buildConnector({ ...this.tlsOptions(false), timeout: opts.connectTimeout });
    const lenient = buildConnector({ ...this.tlsOptions(true), timeout: opts.connectTimeout });
    const registryHostname = this.registryHostname;
    // --insecure concerns the registry host only, not token servers or storage redirects.
    const connect: Connector = (o, cb) =>
      (opts.insecure && o.hostname === registryHostname ? lenient : verifying)(o, cb);
    this.direct = new Agent({ connect, keepAliveTimeout: 10_000, connectTimeout: opts.connectTimeout });
    const env = opts.env;
    this.proxyEnv = {
      httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
      httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
      noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
    };
  }

  private tlsOptions(insecure: boolean): { ca?: string[]; rejectUnauthorized: boolean } {
    return { ...(this.tlsCa ? { ca: this.tlsCa } : {}), rejectUnauthorized: !insecure };
  }

  /** Whether requests to `url` go through a proxy (never for loopback hosts). */
  usesProxy(url: URL): boolean {
    if (isLoopbackRegistry(url.host)) return false;
    return (url.protocol === 'https:' ? this.proxyEnv.httpsProxy || this.proxyEnv.httpProxy : this.proxyEnv.httpProxy) !== '';
  }

  private dispatcherFor(url: URL): Dispatcher {
    if (!this.usesProxy(url)) return this.direct;
    const isRegistry = url.hostname === this.registryHostname;
    const key = isRegistry ? 'registry' : 'other';
    let d = this.proxied[key];
    if (!d) {
      const tls = this.tlsOptions(isRegistry && this.opts.insecure);
      // EnvHttpProxyAgent still applies NO_PROXY; it is given our env, not process.env.
      const EnvHttpProxyAgent = loadEnvHttpProxyAgent();
      d = new EnvHttpProxyAgent({
        ...this.proxyEnv,
        connect: { ...tls, timeout: this.opts.connectTimeout },
        requestTls: tls,
        keepAliveTimeout: 10_000,
      });
      this.proxied[key] = d;
    }
    return d;
  }

  /**
   * Send a request; answers of any status are returned (the caller maps them), after
   * retries for transient failures and redirects. Throws NETWORK_ERROR / TIMEOUT when no
   * answer came after the last try, or the body source's own error.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const hasBody = req.body !== undefined;
    const policy: RetryPolicy =
      req.retry ?? (!hasBody && ['GET', 'HEAD', 'PUT', 'DELETE'].includes(req.method) ? 'idempotent' : 'refused-only');
    const tries = Math.max(1, req.tries ?? this.opts.tries);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= tries;
      let resp: HttpResponse;
      try {
        resp = await this.sendFollowing(req);
      } catch (err) {
        if (err instanceof TarpushError && err.code !== 'NETWORK_ERROR' && err.code !== 'TIMEOUT') throw err;
        const codes = codesOf(err);
        const retryable =
          policy === 'idempotent' ? isTransientNetworkError(err) : policy === 'refused-only' ? codes.some((c) => REFUSED_CODES.test(c)) : false;
        if (last || !retryable) throw networkError(err, req.method, req.url, req.what);
        const delayMs = backoffDelay(attempt, this.opts.retryBaseMs, this.opts.maxRetryWaitMs);
        this.opts.log({ type: 'retry', method: req.method, url: safeUrl(req.url), attempt, delayMs, reason: codes.join('/') || 'network error' });
        await sleep(delayMs);
        continue;
      }
      const retryStatus = policy === 'idempotent' ? RETRY_STATUSES.has(resp.status) : policy === 'refused-only' ? resp.status === 429 : false;
      if (!retryStatus || last) return resp;
      await resp.body.dump().catch(() => {});
      const after = parseRetryAfter(header(resp, 'retry-after'));
      const delayMs =
        after !== undefined ? Math.min(after, this.opts.maxRetryWaitMs) : backoffDelay(attempt, this.opts.retryBaseMs, this.opts.maxRetryWaitMs);
      this.opts.log({ type: 'retry', method: req.method, url: safeUrl(req.url), attempt, delayMs, reason: `status ${resp.status}` });
      await sleep(delayMs);
    }
  }

  private async sendFollowing(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    headers['user-agent'] ??= this.opts.userAgent;
    const follow = req.followRedirects ?? (method === 'GET' || method === 'HEAD');
    let crossedOrigin = false;
    for (let hop = 0; ; hop++) {
      const started = Date.now();
      const resp = await this.once(method, url, headers, body);
      this.opts.log({ type: 'request', method, url: safeUrl(url), status: resp.statusCode, ms: Date.now() - started });
      const location = resp.headers.location;
      const loc = Array.isArray(location) ? location[0] : location;
      const redirectable =
        follow && REDIRECT_STATUSES.has(resp.statusCode) && loc !== undefined && (method === 'GET' || method === 'HEAD' || resp.statusCode >= 307 || resp.statusCode === 303);
      if (!redirectable || hop >= MAX_REDIRECTS) {
        return { status: resp.statusCode, headers: resp.headers, body: resp.body, url, crossedOrigin };
      }
      await resp.body.dump().catch(() => {});
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        throw new TarpushError('REGISTRY_ERROR', `${req.what}: ${method} ${safeUrl(url)} redirected to an invalid URL`, { url: safeUrl(url) });
      }
      if (url.protocol === 'https:' && next.protocol === 'http:' && !isLoopbackRegistry(next.host)) {
        throw new TarpushError('REGISTRY_ERROR', `${req.what}: ${safeUrl(url)} redirected from https to plain http (${safeUrl(next)}); refused`, {
          url: safeUrl(url),
        });
      }
      const dropped = next.origin !== url.origin && CREDENTIAL_HEADERS.some((h) => headers[h] !== undefined);
      if (next.origin !== url.origin) {
        crossedOrigin = true;
        for (const h of CREDENTIAL_HEADERS) delete headers[h];
      }
      this.opts.log({ type: 'redirect', method, from: safeUrl(url), to: safeUrl(next), droppedAuthorization: dropped });
      if (resp.statusCode === 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
        delete headers['content-range'];
      }
      url = next;
    }
  }

  private once(method: string, url: URL, headers: Record<string, string>, body: (() => RequestBody) | undefined): Promise<Dispatcher.ResponseData> {
    return this.dispatcherFor(url).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      headers,
      // undici takes async iterables too, though its typings only list streams and buffers
      body: (body ? body() : method === 'POST' || method === 'PUT' || method === 'PATCH' ? Buffer.alloc(0) : null) as Readable | Buffer | string | null,
      headersTimeout: this.opts.headersTimeout,
      bodyTimeout: this.opts.bodyTimeout,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.direct.close(), ...Object.values(this.proxied).map((d) => d.close())]);
  }
}
