import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent, buildConnector, loadEnvHttpProxyAgent, type Connector, type Dispatcher } from './undici-parts.js';
import { TarpushError } from '../errors.js';
import { isLoopbackRegistry } from '../reference/index.js';
import { codesOf, isTransientNetworkError, networkError, safeUrl } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { parseRetryAfter, RETRYABLE_STATUSES, RetryBudget } from './retry.js';
import { checkHandedUrl } from './url-policy.js';

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
  /**
   * What this request may spend on retries. Default: a budget of its own; an upload ladder
   * passes its budget so that its requests and its own retries share one limit.
   */
  budget?: RetryBudget;
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
  /** Absolute time (ms) by which a read of the whole body must be done (see body.ts). */
  deadlineAt: number;
}

/** First value of a response header (names are lower-case). */
export function header(resp: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = resp.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
// Connection failures where the request cannot have reached the server.
const REFUSED_CODES = /^(ECONNREFUSED|UND_ERR_CONNECT_TIMEOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)$/;

/** A short reason for a retry line: `timeout`, or the error code. */
function networkReason(codes: readonly string[]): string {
  if (codes.some((c) => /TIMEOUT$|^ETIMEDOUT$/.test(c))) return 'timeout';
  return codes[0] ?? 'network error';
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
    const verifying = buildConnector({ ...this.tlsOptions(false), timeout: opts.timeoutMs });
    const lenient = buildConnector({ ...this.tlsOptions(true), timeout: opts.timeoutMs });
    const registryHostname = this.registryHostname;
    // --insecure concerns the registry host only, not token servers or storage redirects.
    const connect: Connector = (o, cb) =>
      (opts.insecure && o.hostname === registryHostname ? lenient : verifying)(o, cb);
    this.direct = new Agent({ connect, keepAliveTimeout: 10_000, connectTimeout: opts.timeoutMs });
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
        connect: { ...tls, timeout: this.opts.timeoutMs },
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
    const budget = req.budget ?? new RetryBudget(this.opts);
    const target = { method: req.method, url: safeUrl(req.url) };
    for (;;) {
      let resp: HttpResponse;
      try {
        resp = await this.sendFollowing(req, budget);
      } catch (err) {
        if (err instanceof TarpushError && err.code !== 'NETWORK_ERROR' && err.code !== 'TIMEOUT') throw err;
        const codes = codesOf(err);
        const retryable =
          policy === 'idempotent' ? isTransientNetworkError(err) : policy === 'refused-only' ? codes.some((c) => REFUSED_CODES.test(c)) : false;
        if (!retryable || !(await budget.retry(target, networkReason(codes)))) throw networkError(err, req.method, req.url, req.what);
        continue;
      }
      const retryStatus = policy === 'idempotent' ? RETRYABLE_STATUSES.has(resp.status) : policy === 'refused-only' ? resp.status === 429 : false;
      if (!retryStatus) return resp;
      // Decided before reading on: when no retry follows, the answer's body is the caller's to quote.
      const delayMs = budget.next(parseRetryAfter(header(resp, 'retry-after')));
      if (delayMs === undefined) return resp;
      await resp.body.dump().catch(() => {});
      await budget.spend(target, String(resp.status), delayMs);
    }
  }

  private async sendFollowing(req: HttpRequest, budget: RetryBudget): Promise<HttpResponse> {
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
      const resp = await this.once(method, url, headers, body, budget.idleLimit());
      this.opts.log({ type: 'request', method, url: safeUrl(url), status: resp.statusCode, ms: Date.now() - started });
      const location = resp.headers.location;
      const loc = Array.isArray(location) ? location[0] : location;
      const redirectable =
        follow && REDIRECT_STATUSES.has(resp.statusCode) && loc !== undefined && (method === 'GET' || method === 'HEAD' || resp.statusCode >= 307 || resp.statusCode === 303);
      if (!redirectable || hop >= MAX_REDIRECTS) {
        const deadlineAt = budget.deadlineAt ?? Date.now() + this.opts.readTimeoutMs;
        return { status: resp.statusCode, headers: resp.headers, body: resp.body, url, crossedOrigin, deadlineAt };
      }
      await resp.body.dump().catch(() => {});
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        throw new TarpushError('REGISTRY_ERROR', `${req.what}: ${method} ${safeUrl(url)} redirected to an invalid URL`, { url: safeUrl(url) });
      }
      checkHandedUrl(next, `${req.what}: the redirect of ${method} ${safeUrl(url)}`, this.registryHostname);
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

  private once(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: (() => RequestBody) | undefined,
    idleMs: number,
  ): Promise<Dispatcher.ResponseData> {
    return this.dispatcherFor(url).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      headers,
      // undici takes async iterables too, though its typings only list streams and buffers
      body: (body ? body() : method === 'POST' || method === 'PUT' || method === 'PATCH' ? Buffer.alloc(0) : null) as Readable | Buffer | string | null,
      // undici's headers timer also runs while the request body is sent (refreshed as it
      // drains), so one idle limit covers a stalled upload, a silent server and a stalled body.
      headersTimeout: idleMs,
      bodyTimeout: idleMs,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.direct.close(), ...Object.values(this.proxied).map((d) => d.close())]);
  }
}
