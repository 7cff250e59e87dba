/**
 * A small "registry" whose every answer the test writes: for what no real registry does
 * (echoing credentials in error bodies, trickling a manifest, endless tag pages, redirects
 * to metadata addresses, an http token realm on the https registry's own port). Requests are
 * recorded with their Host, Authorization and (bounded) body. With `tls`, the one port
 * speaks both https and plain http (the first byte tells them apart), as a misconfigured
 * server on one host:port can. Loopback only.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestCA } from './certs.js';
import { listenOnFreePort } from './free-port.js';

export interface ScriptedRequest {
  method: string;
  /** Path and query. */
  path: string;
  host: string;
  authorization: string | undefined;
  body: string;
  tls: boolean;
}

export type ScriptedHandler = (req: ScriptedRequest, res: http.ServerResponse) => unknown;

export interface ScriptedRegistry {
  host: string;
  port: number;
  requests: ScriptedRequest[];
  /** PEM of the CA for the https side (tls mode). */
  caFile?: string;
  stop(): Promise<void>;
}

const BODY_MAX = 1 << 20;

/** Write `body` a byte every `everyMs` (Content-Length announced), for as long as the client listens. */
export function trickle(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string, everyMs: number): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed || i >= bytes.length) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(bytes.subarray(i, i + 1));
    i++;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

export function json(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export async function startScriptedRegistry(handler: ScriptedHandler, opts: { tls?: boolean } = {}): Promise<ScriptedRegistry> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const onRequest = (tls: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= BODY_MAX) chunks.push(c);
    });
    req.on('end', () => {
      const r: ScriptedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        host: req.headers.host ?? '',
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
        tls,
      };
      requests.push(r);
      Promise.resolve(handler(r, res)).catch(() => res.destroy());
    });
  };
  const plain = http.createServer(onRequest(false));
  let dir: string | undefined;
  let caFile: string | undefined;
  let front: net.Server;
  const inner: net.Server[] = [];
  if (opts.tls) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-scripted-'));
    const ca = await makeTestCA(dir);
    caFile = ca.caFile;
    const secure = https.createServer({ cert: await readFile(ca.certFile), key: await readFile(ca.keyFile) }, onRequest(true));
    // Both sides listen on ports of their own; the front relays each connection to one of
    // them by its first byte (0x16: a TLS handshake record).
    const plainPort = await listenOnFreePort(plain);
    const securePort = await listenOnFreePort(secure);
    inner.push(plain, secure);
    front = net.createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        const upstream = net.connect(first[0] === 0x16 ? securePort : plainPort, '127.0.0.1');
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          socket.destroy();
        });
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.write(first);
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
    });
  } else {
    front = plain;
  }
  front.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const port = await listenOnFreePort(front);
  const handle: ScriptedRegistry = {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    stop: async () => {
      const closed = new Promise<void>((r) => front.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
      for (const server of inner) {
        (server as http.Server).closeAllConnections?.();
        await new Promise<void>((r) => server.close(() => r()));
      }
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
  if (caFile) handle.caFile = caFile;
  return handle;
}
