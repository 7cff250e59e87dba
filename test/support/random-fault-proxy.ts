/**
 * An HTTP proxy in front of a real registry that faults a share of requests at random, the
 * way flaky networks and registries do: resets before the request is forwarded, resets
 * after it was forwarded (the registry acted, the client never learns), resets after the
 * response head, bodies cut mid-way, 500/502/503, 429 with Retry-After, slow answers.
 * Decisions come from a seeded generator, in arrival order, so a sequential run repeats.
 * The client's Host header is forwarded, so the registry's own Location URLs name the proxy.
 */
import http from 'node:http';
import { listenOnFreePort } from './free-port.js';

export const FAULT_KINDS = [
  'reset-before-forward',
  'reset-after-forward',
  'reset-after-headers',
  'truncate-body',
  'status-500',
  'status-502',
  'status-503',
  'status-429',
  'slow',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface RandomFaultProxy {
  host: string;
  /** Requests seen, and faults injected by kind. */
  stats: { requests: number; faults: Record<FaultKind, number> };
  stop(): Promise<void>;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startRandomFaultProxy(target: { host: string; port: number }, opts: { seed: number; rate: number }): Promise<RandomFaultProxy> {
  const random = seededRandom(opts.seed);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const stats = { requests: 0, faults };
  const sockets = new Set<import('node:net').Socket>();

  const forward = (req: http.IncomingMessage, onResponse: (up: http.IncomingMessage) => void, onError: () => void) => {
    const up = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, onResponse);
    up.on('error', onError);
    req.pipe(up);
    return up;
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    const fault: FaultKind | undefined = random() < opts.rate ? FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)] : undefined;
    if (fault) faults[fault]++;
    const cut = () => req.socket.destroy();
    const answer = (status: number, headers: Record<string, string> = {}) => {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected fault' }] });
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length), ...headers });
        res.end(body);
      });
    };
    const relay = (up: http.IncomingMessage, cutAfter?: 'headers' | 'body') => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (cutAfter === 'headers') {
        res.flushHeaders();
        up.destroy();
        setImmediate(cut);
        return;
      }
      if (cutAfter === 'body') {
        const length = Number(up.headers['content-length']);
        const keep = Number.isFinite(length) && length > 1 ? Math.floor(length / 2) : 0;
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= keep) return;
          const piece = chunk.subarray(0, keep - sent);
          sent += piece.length;
          res.write(piece);
          if (sent >= keep) {
            up.destroy();
            setImmediate(cut);
          }
        });
        up.on('end', () => setImmediate(cut));
        if (keep === 0) {
          res.flushHeaders();
          up.destroy();
          setImmediate(cut);
        }
        return;
      }
      up.pipe(res);
    };
    switch (fault) {
      case 'reset-before-forward':
        return cut();
      case 'reset-after-forward':
        forward(req, (up) => {
          up.resume();
          up.on('end', cut);
        }, cut);
        return;
      case 'reset-after-headers':
        forward(req, (up) => relay(up, 'headers'), cut);
        return;
      case 'truncate-body':
        forward(req, (up) => relay(up, 'body'), cut);
        return;
      case 'status-500':
        return answer(500);
      case 'status-502':
        return answer(502);
      case 'status-503':
        return answer(503);
      case 'status-429':
        return answer(429, { 'retry-after': '1' });
      case 'slow':
        req.pause();
        setTimeout(() => {
          req.resume();
          forward(req, (up) => relay(up), cut);
        }, 1500 + Math.floor(random() * 1500));
        return;
      default:
        forward(req, (up) => relay(up), cut);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listenOnFreePort(server);
  return {
    host: `127.0.0.1:${port}`,
    stats,
    stop: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
