/**
 * A fault-injecting HTTP proxy in front of a real registry, to reproduce what real registries
 * and networks do (5xx, 429, resets, Docker Hub's 202s, GCR/ECR/GHCR upload limits, expired
 * tokens, blob redirects) without mocking the registry.
 *
 * Requests are forwarded with their bodies streamed (never buffered) and recorded in
 * `requests` (headers included, in memory only, so tests can scan them for leaked secrets).
 * Absolute `Location`/`Link` URLs naming the target are rewritten to the proxy; relative ones
 * stay relative. Rules are tried in order; the first rule that matches, applies to this kind
 * of request and is not used up acts on it, and only that one.
 *
 * Matching: `match.method` compares case-insensitively; `match.path` is tried against the
 * path alone and against path+query, and matches if either does.
 * `times` counts the requests a rule acted on. Rules that only act on certain requests
 * (see each kind) neither act on nor count others.
 *
 * Kinds:
 * - status: answer `status` without forwarding (the request body is read first). No `body` →
 *   a registry-style JSON error for 4xx/5xx. A 401 without a `WWW-Authenticate` header gets
 *   the target's own challenge (Bearer with the request's scope, or Basic).
 * - reset-after: a request with a body → its first `bytes` body bytes reach the registry,
 *   then both connections are destroyed (no response). If the body is shorter, the registry
 *   gets all of it and the client connection is destroyed before the response (the upload
 *   happened but the client never learns). A request without a body → the response head and
 *   at most `bytes` body bytes are relayed, always fewer than the whole body, then the
 *   connection is destroyed; a HEAD or an empty-bodied response is cut before its head.
 * - delay: wait `ms`, then forward.
 * - accepted-not-created: PUT to an upload session or a manifest: a 201 becomes 202.
 * - single-post: POST …/blobs/uploads/?digest=… with a body: the proxy opens a session
 *   upstream and PUTs the body to it, answering the PUT's 201 + Location +
 *   Docker-Content-Digest.
 * - no-single-post: POST …/blobs/uploads/?digest=…: the body is read and dropped, the
 *   registry gets a plain POST, the client gets its 202 + Location.
 * - no-chunked: every PATCH → 405 UNSUPPORTED.
 * - min-chunk: ECR's rule "chunks of at least `bytes`, except the last". A chunk is known to
 *   be "not the last" only when more data follows in the same session, so the proxy
 *   remembers the size of each forwarded PATCH per session and rejects, with 400
 *   BLOB_UPLOAD_INVALID, the next PATCH or PUT-with-body that follows a PATCH smaller than
 *   `bytes`. A small final PATCH followed by a PUT without body passes. While such a rule
 *   is active, 202 answers to upload POSTs carry `OCI-Chunk-Min-Length: bytes`.
 * - max-body: a request body over `bytes` → `status` (default 416) and nothing reaches the
 *   registry when Content-Length says so; a chunked body is forwarded until it passes
 *   `bytes`, then the upstream request is aborted and the client gets `status`.
 * - expire-token: a request whose Bearer token was issued before the rule was armed (seen
 *   by the proxy before arming, or with a JWT `iat` before the arming second) → 401 with
 *   the target's Bearer challenge and `error="invalid_token"`. Newer tokens pass, so without
 *   `times` this behaves like every older token expiring at once.
 * - redirect-blobs: GET/HEAD of a blob that the registry has (checked with a HEAD carrying
 *   the client's credentials) → 307 to `to` + a one-off signed path served by
 *   startBlobRedirectTarget(); other answers (401, 404) are forwarded as usual.
 */
import http from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { issueBlobTicket, proxyTargets } from './blob-redirect.js';
import { listenOnFreePort } from './free-port.js';
import { Upstream, hasBody, withoutHopByHop } from './proxy-upstream.js';
import type { FaultProxyHandle, FaultRule, RecordedRequest } from './proxy-types.js';
import { classifyPath, scopeFor, type RegistryEndpoint } from './registry-paths.js';

export type { FaultProxyHandle, FaultRule, RecordedRequest } from './proxy-types.js';
export { startBlobRedirectTarget, type BlobRedirectTarget } from './blob-redirect.js';

interface ArmedRule {
  rule: FaultRule;
  used: number;
  armedAtMs: number;
  /** Bearer tokens the proxy had seen when the rule was armed (expire-token). */
  tokensBefore: ReadonlySet<string>;
  /** min-chunk: size of the last PATCH forwarded per upload-session path. */
  lastChunk: Map<string, number>;
}

interface RequestContext {
  method: string;
  pathname: string;
  fullPath: string;
  query: URLSearchParams;
  endpoint: RegistryEndpoint;
  headers: http.IncomingHttpHeaders;
  bodyAnnounced: boolean;
  bearer: string | undefined;
}

const ERROR_CODES: Record<number, string> = {
  400: 'BLOB_UPLOAD_INVALID',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NAME_UNKNOWN',
  405: 'UNSUPPORTED',
  416: 'RANGE_INVALID',
  429: 'TOOMANYREQUESTS',
};

function errorBody(status: number, message: string, code = ERROR_CODES[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'UNKNOWN')): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

function ruleMatches(rule: FaultRule, ctx: RequestContext): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.method !== undefined && m.method.toUpperCase() !== ctx.method) return false;
  if (m.path) {
    m.path.lastIndex = 0;
    const onPath = m.path.test(ctx.pathname);
    m.path.lastIndex = 0;
    if (!onPath && !m.path.test(ctx.fullPath)) return false;
  }
  return true;
}

function exhausted(armed: ArmedRule): boolean {
  return armed.rule.times !== undefined && armed.used >= armed.rule.times;
}

function jwtIssuedAt(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iat?: unknown };
    return typeof claims.iat === 'number' ? claims.iat : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a (matching, unexhausted) rule of this kind acts on this request. */
function applies(armed: ArmedRule, ctx: RequestContext): boolean {
  const rule = armed.rule;
  const { method, endpoint } = ctx;
  switch (rule.kind) {
    case 'status':
    case 'reset-after':
    case 'delay':
      return true;
    case 'accepted-not-created':
      return method === 'PUT' && (endpoint.kind === 'upload-session' || endpoint.kind === 'manifest');
    case 'single-post':
      return method === 'POST' && endpoint.kind === 'upload-start' && ctx.query.has('digest') && ctx.bodyAnnounced;
    case 'no-single-post':
      return method === 'POST' && endpoint.kind === 'upload-start' && ctx.query.has('digest');
    case 'no-chunked':
      return method === 'PATCH';
    case 'min-chunk': {
      if (endpoint.kind !== 'upload-session') return false;
      if (method !== 'PATCH' && !(method === 'PUT' && ctx.bodyAnnounced)) return false;
      const last = armed.lastChunk.get(ctx.pathname);
      return last !== undefined && last < rule.bytes;
    }
    case 'max-body': {
      if (!ctx.bodyAnnounced) return false;
      const length = ctx.headers['content-length'];
      return length === undefined || Number(length) > rule.bytes;
    }
    case 'expire-token': {
      if (!ctx.bearer) return false;
      if (armed.tokensBefore.has(ctx.bearer)) return true;
      const iat = jwtIssuedAt(ctx.bearer);
      return iat !== undefined && iat < Math.floor(armed.armedAtMs / 1000);
    }
    case 'redirect-blobs':
      return (method === 'GET' || method === 'HEAD') && endpoint.kind === 'blob';
  }
}

export async function startFaultProxy(
  target: { url: string; caFile?: string },
  rules: FaultRule[] = [],
): Promise<FaultProxyHandle> {
  const upstream = new Upstream(target);
  const requests: RecordedRequest[] = [];
  const seenTokens = new Set<string>();
  let armedRules: ArmedRule[] = [];
  let targetChallenge: string | undefined;
  let proxyOrigin = '';

  const arm = (list: FaultRule[]) => {
    const now = Date.now();
    const snapshot = new Set(seenTokens);
    armedRules = list.map((rule) => ({ rule, used: 0, armedAtMs: now, tokensBefore: snapshot, lastChunk: new Map() }));
  };
  arm(rules);

  const learnChallenge = (up: http.IncomingMessage) => {
    const value = up.headers['www-authenticate'];
    if (up.statusCode === 401 && typeof value === 'string') targetChallenge = value;
  };

  /** The target's challenge, adapted to this request's scope. */
  const challengeFor = async (ctx: RequestContext, error?: string): Promise<string> => {
    if (targetChallenge === undefined) {
      try {
        const { response } = upstream.send({ method: 'GET', path: '/v2/', headers: {} });
        const up = await response;
        up.resume();
        targetChallenge = typeof up.headers['www-authenticate'] === 'string' ? up.headers['www-authenticate'] : '';
      } catch {
        targetChallenge = '';
      }
    }
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`, 'i').exec(targetChallenge ?? '')?.[1];
    if (/^bearer\s/i.test(targetChallenge)) {
      const parts = [`realm="${param('realm') ?? ''}"`, `service="${param('service') ?? ''}"`];
      const scope = scopeFor(ctx.method, ctx.pathname);
      if (scope) parts.push(`scope="${scope}"`);
      if (error) parts.push(`error="${error}"`);
      return `Bearer ${parts.join(',')}`;
    }
    return `Basic realm="${param('realm') ?? 'tarpush-test-proxy'}"`;
  };

  const drain = async (body: Readable) => {
    body.resume();
    try {
      await finished(body);
    } catch {
      // the client went away; nothing to answer
    }
  };

  const sendStatus = (
    res: http.ServerResponse,
    method: string,
    status: number,
    body: string,
    headers: Record<string, string>,
  ) => {
    if (res.destroyed) return;
    const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    const out: http.OutgoingHttpHeaders = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    if (!hasType && body !== '') out['content-type'] = body.startsWith('{') ? 'application/json' : 'text/plain; charset=utf-8';
    res.writeHead(status, out);
    res.end(method === 'HEAD' ? undefined : body);
  };

  /** Bookkeeping on every upstream answer: challenges, min-chunk sessions, chunk-size hint. */
  const observe = (ctx: RequestContext, up: http.IncomingMessage, bodyBytes: number, headers: http.OutgoingHttpHeaders) => {
    learnChallenge(up);
    const ok = (up.statusCode ?? 0) >= 200 && (up.statusCode ?? 0) < 300;
    for (const armed of armedRules) {
      // Sessions are tracked whatever `match` says; `match` only limits which requests are refused.
      if (armed.rule.kind !== 'min-chunk') continue;
      if (ctx.endpoint.kind === 'upload-session' && ok) {
        if (ctx.method === 'PATCH') armed.lastChunk.set(ctx.pathname, bodyBytes);
        else if (ctx.method === 'PUT' || ctx.method === 'DELETE') armed.lastChunk.delete(ctx.pathname);
      }
      if (ctx.endpoint.kind === 'upload-start' && up.statusCode === 202 && !exhausted(armed)) {
        headers['oci-chunk-min-length'] = String(armed.rule.bytes);
      }
    }
  };

  /** Writes the upstream answer's head (status optionally replaced) and streams its body. */
  const relay = (up: http.IncomingMessage, res: http.ServerResponse, headers: http.OutgoingHttpHeaders, status = up.statusCode ?? 502) => {
    res.writeHead(status, headers);
    up.pipe(res);
    res.on('close', () => {
      if (!up.complete) up.destroy(); // the client went away: do not keep the upstream socket busy
    });
  };

  const failUpstream = (res: http.ServerResponse, err: Error) => {
    if (!res.headersSent && !res.destroyed) {
      const body = errorBody(502, `test proxy: upstream request failed: ${err.message}`);
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    } else {
      res.destroy();
    }
  };

  /** Forwards the request as is and relays the answer (status optionally remapped). */
  const forward = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    body: Readable,
    record: RecordedRequest,
    mapStatus: (status: number) => number = (s) => s,
  ) => {
    const { req: upReq, response } = upstream.send({
      method: ctx.method,
      path: ctx.fullPath,
      headers: withoutHopByHop(req.headers),
      ...(ctx.bodyAnnounced ? { body } : {}),
    });
    if (!ctx.bodyAnnounced) body.resume();
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    let up: http.IncomingMessage;
    try {
      up = await response;
    } catch (err) {
      failUpstream(res, err as Error);
      return;
    }
    const headers = upstream.clientHeaders(up.headers, proxyOrigin);
    observe(ctx, up, record.bodyBytes, headers);
    relay(up, res, headers, mapStatus(up.statusCode ?? 502));
  };

  const resetAfter = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    body: Readable,
    bytes: number,
  ) => {
    const cutClient = () => req.socket.destroy();
    if (ctx.bodyAnnounced) {
      const { req: upReq, response } = upstream.send({
        method: ctx.method,
        path: ctx.fullPath,
        headers: withoutHopByHop(req.headers),
        body: 'manual',
      });
      response.catch(() => undefined); // aborted on purpose
      let passed = 0;
      let cut = false;
      body.on('data', (chunk: Buffer) => {
        if (cut) return;
        if (passed + chunk.length < bytes) {
          passed += chunk.length;
          if (!upReq.write(chunk)) {
            body.pause();
            upReq.once('drain', () => body.resume());
          }
          return;
        }
        cut = true;
        body.pause();
        upReq.write(chunk.subarray(0, bytes - passed), () => upReq.destroy());
        cutClient();
      });
      body.on('end', () => {
        if (cut) return;
        upReq.end();
        response.then((up) => {
          learnChallenge(up);
          up.resume();
          cutClient();
        }, cutClient);
      });
      body.on('error', () => upReq.destroy());
      return;
    }
    body.resume();
    const { response } = upstream.send({ method: ctx.method, path: ctx.fullPath, headers: withoutHopByHop(req.headers) });
    let up: http.IncomingMessage;
    try {
      up = await response;
    } catch {
      cutClient();
      return;
    }
    learnChallenge(up);
    const declared = up.headers['content-length'] !== undefined ? Number(up.headers['content-length']) : undefined;
    const limit = declared !== undefined ? Math.min(bytes, declared - 1) : bytes;
    if (ctx.method === 'HEAD' || limit < 0) {
      up.resume();
      cutClient();
      return;
    }
    res.writeHead(up.statusCode ?? 502, upstream.clientHeaders(up.headers, proxyOrigin));
    let passed = 0;
    let cut = false;
    const cutAfterFlush = (last: Buffer) => {
      cut = true;
      up.destroy();
      if (last.length > 0) res.write(last, cutClient);
      else if (res.socket) res.socket.write('', cutClient);
      else cutClient();
    };
    if (limit === 0) {
      res.flushHeaders();
      cutAfterFlush(Buffer.alloc(0));
      return;
    }
    up.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (passed + chunk.length < limit) {
        passed += chunk.length;
        res.write(chunk);
        return;
      }
      cutAfterFlush(chunk.subarray(0, limit - passed));
    });
    up.on('end', () => {
      if (!cut) cutAfterFlush(Buffer.alloc(0)); // a chunked body shorter than `bytes`: no final chunk
    });
  };

  const singlePost = async (req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, body: Readable) => {
    const digest = ctx.query.get('digest')!;
    const startQuery = new URLSearchParams(ctx.query);
    startQuery.delete('digest');
    const auth = withoutHopByHop(req.headers);
    delete auth['content-length'];
    delete auth['content-type'];
    let start: http.IncomingMessage;
    try {
      const search = startQuery.toString();
      start = await upstream.send({ method: 'POST', path: `${ctx.pathname}${search ? `?${search}` : ''}`, headers: auth }).response;
    } catch (err) {
      await drain(body);
      failUpstream(res, err as Error);
      return;
    }
    learnChallenge(start);
    const location = start.headers.location;
    if (start.statusCode !== 202 || typeof location !== 'string') {
      await drain(body);
      relay(start, res, upstream.clientHeaders(start.headers, proxyOrigin));
      return;
    }
    start.resume();
    const putUrl = new URL(location, upstream.base);
    putUrl.searchParams.append('digest', digest);
    const putHeaders: http.OutgoingHttpHeaders = { ...auth, 'content-type': 'application/octet-stream' };
    if (req.headers['content-length'] !== undefined) putHeaders['content-length'] = req.headers['content-length'];
    const { req: upReq, response } = upstream.send({ method: 'PUT', path: putUrl.href, headers: putHeaders, body });
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    try {
      const up = await response;
      learnChallenge(up);
      relay(up, res, upstream.clientHeaders(up.headers, proxyOrigin));
    } catch (err) {
      failUpstream(res, err as Error);
    }
  };

  const noSinglePost = async (req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, body: Readable) => {
    await drain(body);
    const query = new URLSearchParams(ctx.query);
    query.delete('digest');
    const headers = withoutHopByHop(req.headers);
    delete headers['content-length'];
    delete headers['content-type'];
    const search = query.toString();
    try {
      const up = await upstream.send({ method: 'POST', path: `${ctx.pathname}${search ? `?${search}` : ''}`, headers }).response;
      const out = upstream.clientHeaders(up.headers, proxyOrigin);
      observe(ctx, up, 0, out);
      relay(up, res, out);
    } catch (err) {
      failUpstream(res, err as Error);
    }
  };

  /** max-body on a chunked body: forward until the limit is passed, then abort and refuse. */
  const limitStreamedBody = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    body: Readable,
    record: RecordedRequest,
    armed: ArmedRule & { rule: { kind: 'max-body' } },
  ) => {
    const { req: upReq, response } = upstream.send({
      method: ctx.method,
      path: ctx.fullPath,
      headers: withoutHopByHop(req.headers),
      body: 'manual',
    });
    let exceeded = false;
    let seen = 0;
    response.catch(() => undefined);
    await new Promise<void>((resolve) => {
      body.on('data', (chunk: Buffer) => {
        if (exceeded) return;
        seen += chunk.length;
        if (seen > armed.rule.bytes) {
          exceeded = true;
          armed.used++;
          upReq.destroy();
          return;
        }
        if (!upReq.write(chunk)) {
          body.pause();
          upReq.once('drain', () => body.resume());
        }
      });
      body.on('end', () => resolve());
      body.on('error', () => resolve());
    });
    if (exceeded) {
      const status = armed.rule.status ?? 416;
      sendStatus(res, ctx.method, status, errorBody(status, `request body exceeds the limit of ${armed.rule.bytes} bytes`), {});
      return;
    }
    upReq.end();
    try {
      const up = await response;
      const headers = upstream.clientHeaders(up.headers, proxyOrigin);
      observe(ctx, up, record.bodyBytes, headers);
      relay(up, res, headers);
    } catch (err) {
      failUpstream(res, err as Error);
    }
  };

  const redirectBlob = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    body: Readable,
    record: RecordedRequest,
    to: string,
  ) => {
    const endpoint = ctx.endpoint as Extract<RegistryEndpoint, { kind: 'blob' }>;
    const headers = withoutHopByHop(req.headers);
    delete headers['range'];
    let status = 0;
    try {
      const up = await upstream.send({ method: 'HEAD', path: ctx.pathname, headers }).response;
      up.resume();
      learnChallenge(up);
      status = up.statusCode ?? 0;
    } catch {
      status = 0;
    }
    if (status !== 200) {
      await forward(req, res, ctx, body, record);
      return;
    }
    body.resume();
    const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    const location = `${to.replace(/\/+$/, '')}${issueBlobTicket(endpoint.name, endpoint.digest, auth)}`;
    res.writeHead(307, { location, 'content-length': '0' });
    res.end();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      origin: 'proxy',
      bodyBytes: 0,
    };
    requests.push(record);
    // Record the status when the head is written, so it is set before the client can see it.
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, statusCode: number, ...rest: unknown[]) {
      record.status = statusCode;
      return (writeHead as (...args: unknown[]) => http.ServerResponse).call(this, statusCode, ...rest);
    } as typeof res.writeHead;
    // Count the body on its way through without consuming it early.
    const body = new PassThrough();
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    req.pipe(body);
    req.on('error', (err) => body.destroy(err));

    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const authorization = req.headers.authorization;
    const bearer = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
    const ctx: RequestContext = {
      method: (req.method ?? 'GET').toUpperCase(),
      pathname: url.pathname,
      fullPath: `${url.pathname}${url.search}`,
      query: url.searchParams,
      endpoint: classifyPath(url.pathname),
      headers: req.headers,
      bodyAnnounced: hasBody(req.headers),
      bearer,
    };
    const armed = armedRules.find((a) => !exhausted(a) && ruleMatches(a.rule, ctx) && applies(a, ctx));
    if (bearer) seenTokens.add(bearer);
    if (!armed) {
      await forward(req, res, ctx, body, record);
      return;
    }
    const rule = armed.rule;
    // max-body on a streamed body counts only if the limit is actually passed.
    const streamedLimit = rule.kind === 'max-body' && req.headers['content-length'] === undefined;
    if (!streamedLimit) armed.used++;

    switch (rule.kind) {
      case 'status': {
        await drain(body);
        const headers = { ...(rule.headers ?? {}) };
        if (rule.status === 401 && !Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate')) {
          headers['WWW-Authenticate'] = await challengeFor(ctx);
        }
        const text = rule.body ?? (rule.status >= 400 ? errorBody(rule.status, `injected by the tarpush test proxy`) : '');
        sendStatus(res, ctx.method, rule.status, text, headers);
        return;
      }
      case 'reset-after':
        await resetAfter(req, res, ctx, body, rule.bytes);
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, rule.ms));
        await forward(req, res, ctx, body, record);
        return;
      case 'accepted-not-created':
        await forward(req, res, ctx, body, record, (s) => (s === 201 ? 202 : s));
        return;
      case 'single-post':
        await singlePost(req, res, ctx, body);
        return;
      case 'no-single-post':
        await noSinglePost(req, res, ctx, body);
        return;
      case 'no-chunked':
        await drain(body);
        sendStatus(res, ctx.method, 405, errorBody(405, 'chunked uploads (PATCH) are not supported; upload the blob with a single PUT'), {});
        return;
      case 'min-chunk': {
        await drain(body);
        const last = armed.lastChunk.get(ctx.pathname);
        armed.lastChunk.delete(ctx.pathname);
        sendStatus(
          res,
          ctx.method,
          400,
          errorBody(400, `a chunk of ${last} bytes was followed by more data: every chunk but the last must have at least ${rule.bytes} bytes`),
          {},
        );
        return;
      }
      case 'max-body':
        if (streamedLimit) {
          await limitStreamedBody(req, res, ctx, body, record, armed as ArmedRule & { rule: { kind: 'max-body' } });
          return;
        }
        await drain(body);
        sendStatus(
          res,
          ctx.method,
          rule.status ?? 416,
          errorBody(rule.status ?? 416, `request body of ${req.headers['content-length']} bytes exceeds the limit of ${rule.bytes} bytes`),
          {},
        );
        return;
      case 'expire-token': {
        await drain(body);
        const challenge = await challengeFor(ctx, 'invalid_token');
        sendStatus(res, ctx.method, 401, errorBody(401, 'authentication required: token expired'), { 'WWW-Authenticate': challenge });
        return;
      }
      case 'redirect-blobs':
        await redirectBlob(req, res, ctx, body, record, rule.to);
        return;
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => failUpstream(res, err as Error));
  });
  const port = await listenOnFreePort(server);
  proxyOrigin = `http://127.0.0.1:${port}`;
  const handle_: FaultProxyHandle = {
    url: proxyOrigin,
    host: `127.0.0.1:${port}`,
    requests,
    setRules: arm,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upstream.close();
      }),
  };
  proxyTargets.set(handle_, { url: target.url, ...(target.caFile ? { caFile: target.caFile } : {}) });
  return handle_;
}
