/**
 * The proxy's side facing the real registry: one keep-alive agent (trusting the test CA for
 * an https target), hop-by-hop header filtering, and rewriting of absolute `Location`/`Link`
 * URLs that name the target so clients keep talking to the proxy.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** True when the request announces a body (Content-Length > 0 or a Transfer-Encoding). */
export function hasBody(headers: http.IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = Number(headers['content-length'] ?? '0');
  return Number.isFinite(length) && length > 0;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query, or an absolute URL on the target. */
  path: string;
  headers: http.OutgoingHttpHeaders;
  /**
   * Streamed as the body; 'manual' = the caller writes and ends the request itself;
   * undefined = no body (Content-Length: 0 for methods that may carry one).
   */
  body?: Readable | 'manual';
}

export class Upstream {
  readonly base: URL;
  private readonly agent: http.Agent;
  private readonly ca: Buffer | undefined;

  constructor(target: { url: string; caFile?: string }) {
    this.base = new URL(target.url);
    this.ca = target.caFile ? readFileSync(target.caFile) : undefined;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ca: this.ca })
        : new http.Agent({ keepAlive: true });
  }

  /** Sends the request; resolves with the response head (the body is left to the caller). */
  send(request: UpstreamRequest): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
    const url = new URL(request.path, this.base);
    const headers: http.OutgoingHttpHeaders = { ...request.headers, host: this.base.host };
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: request.method, headers, agent: this.agent });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    if (request.body === 'manual') {
      // the caller writes the body
    } else if (request.body) {
      request.body.pipe(req);
    } else {
      if (!['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(request.method) && headers['content-length'] === undefined) {
        req.setHeader('content-length', '0');
      }
      req.end();
    }
    return { req, response };
  }

  /** Rewrites a URL on the target origin to the same path on `proxyOrigin`; others unchanged. */
  rewriteUrl(value: string, proxyOrigin: string): string {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value; // relative stays relative
    const url = new URL(value);
    if (url.host !== this.base.host) return value;
    return `${proxyOrigin}${url.pathname}${url.search}${url.hash}`;
  }

  /** Response headers as the client should see them behind the proxy. */
  clientHeaders(headers: http.IncomingHttpHeaders, proxyOrigin: string): http.OutgoingHttpHeaders {
    const out = withoutHopByHop(headers);
    const location = out['location'];
    if (typeof location === 'string') out['location'] = this.rewriteUrl(location, proxyOrigin);
    const link = out['link'];
    if (typeof link === 'string') {
      out['link'] = link.replace(/<([^>]*)>/g, (_all, u: string) => `<${this.rewriteUrl(u, proxyOrigin)}>`);
    }
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}
