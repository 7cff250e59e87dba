/**
 * The second origin behind the proxy's `redirect-blobs` rule: a stand-in for the S3 / CDN
 * hosts that registries redirect blob downloads to. The proxy hands out one-time-ish
 * "signed" URLs (a random ticket that remembers the original request's credentials, like a
 * presigned URL carries its own authorisation); this server records what it receives,
 * refuses any request carrying `Authorization` with 400 as S3 does, and serves the bytes by
 * fetching the blob from the registry itself.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { listenOnFreePort } from './free-port.js';
import { Upstream } from './proxy-upstream.js';
import type { FaultProxyHandle, RecordedRequest } from './proxy-types.js';
import type { RegistryHandle } from './registry.js';

interface Ticket {
  name: string;
  digest: string;
  authorization: string | undefined;
  expiresAt: number;
}

const TICKET_LIFETIME_MS = 5 * 60_000;
/** Shared by proxies and redirect targets of this process (they run in the same test process). */
const tickets = new Map<string, Ticket>();

/** Registers a blob download and returns the path+query to redirect to on the target origin. */
export function issueBlobTicket(name: string, digest: string, authorization: string | undefined): string {
  const id = randomBytes(16).toString('hex');
  tickets.set(id, { name, digest, authorization, expiresAt: Date.now() + TICKET_LIFETIME_MS });
  return `/blobs/${encodeURIComponent(digest)}?repo=${encodeURIComponent(name)}&X-Test-Signature=${id}`;
}

/** Where a redirect target fetches blobs: a registry handle, or a proxy handle's own target. */
export interface BlobSourceInfo {
  url: string;
  caFile?: string;
}

/** Proxies register their target here so a redirect target started from a proxy handle can find it. */
export const proxyTargets = new WeakMap<object, BlobSourceInfo>();

export interface BlobRedirectTarget {
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

const RELAYED_HEADERS = [
  'content-length',
  'content-type',
  'content-range',
  'accept-ranges',
  'docker-content-digest',
  'etag',
];

async function listenPreferring127002(server: http.Server): Promise<string> {
  // A different host name than the registry makes the redirect cross-origin by host, not
  // only by port; 127.0.0.2 is loopback on Linux but may be missing elsewhere.
  try {
    const port = await listenOnFreePort(server, '127.0.0.2');
    return `http://127.0.0.2:${port}`;
  } catch {
    const port = await listenOnFreePort(server, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }
}

export async function startBlobRedirectTarget(registry: RegistryHandle | FaultProxyHandle): Promise<BlobRedirectTarget> {
  const source: BlobSourceInfo | undefined =
    proxyTargets.get(registry) ??
    ('mode' in registry ? { url: registry.url, ...(registry.caFile ? { caFile: registry.caFile } : {}) } : undefined);
  if (!source) throw new Error('startBlobRedirectTarget: pass a RegistryHandle or a FaultProxyHandle');
  const upstream = new Upstream(source);
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      origin: 'redirect-target',
      bodyBytes: 0,
    };
    requests.push(record);
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    res.on('close', () => {
      if (res.headersSent) record.status = res.statusCode;
    });
    const reply = (status: number, body: string, type = 'application/xml') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };

    const url = new URL(req.url ?? '/', 'http://target.invalid');
    const m = /^\/blobs\/([^/]+)$/.exec(url.pathname);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !m) {
      reply(404, '<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    if (req.headers.authorization !== undefined) {
      reply(
        400,
        '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; an Authorization header must not accompany a signed URL</Message></Error>',
      );
      return;
    }
    const ticket = tickets.get(url.searchParams.get('X-Test-Signature') ?? '');
    const digest = decodeURIComponent(m[1]!);
    if (!ticket || ticket.expiresAt < Date.now() || ticket.digest !== digest || ticket.name !== url.searchParams.get('repo')) {
      reply(403, '<Error><Code>AccessDenied</Code><Message>signature does not match</Message></Error>');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    if (ticket.authorization) headers.authorization = ticket.authorization;
    if (req.headers.range) headers.range = req.headers.range;
    const { response } = upstream.send({ method: req.method, path: `/v2/${ticket.name}/blobs/${digest}`, headers });
    response.then(
      (up) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const name of RELAYED_HEADERS) if (up.headers[name] !== undefined) out[name] = up.headers[name];
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
        res.on('close', () => {
          if (!up.complete) up.destroy();
        });
      },
      (err: Error) => reply(502, `<Error><Code>BadGateway</Code><Message>${err.message}</Message></Error>`),
    );
  });
  const url = await listenPreferring127002(server);
  return {
    url,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upstream.close();
      }),
  };
}
