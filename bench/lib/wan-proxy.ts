/**
 * A loopback TCP proxy that makes a registry look far away (there is no netem qdisc on the
 * bench machines): each direction is one shared link with a rate (every connection's bytes
 * queue for it, FIFO, as behind one bottleneck) and a one-way delay. A new connection carries
 * no data for one round trip (the TCP handshake a real WAN charges). Bytes are streamed: a
 * connection is paused while more than its share is queued or in flight, so memory stays
 * about one bandwidth-delay product per connection. Not modelled: slow start, loss, TCP
 * windows.
 *
 * It also counts connections and, for plaintext HTTP/1.1, requests by method: the
 * client→server stream is parsed (request line, headers, Content-Length or chunked body
 * skipped without buffering). A connection that does not speak HTTP/1.1 (a TLS probe) is
 * counted in `opaqueConnections` and passed through uncounted.
 */
import net from 'node:net';
import { listenOnFreePort } from '../../test/support/free-port.js';

export interface WanProfile {
  /** Name used in reports and on the command line, e.g. `50ms/200mbit`. */
  name: string;
  /** Round-trip time added (half each way), ms. */
  rttMs: number;
  /** Rate of each direction, bits per second. */
  bitsPerSecond: number;
}

/** The bench's three links: undefined = straight to the registry (no proxy). */
export const PROFILES: readonly (WanProfile | undefined)[] = [
  undefined,
  { name: '20ms/1gbit', rttMs: 20, bitsPerSecond: 1e9 },
  { name: '50ms/200mbit', rttMs: 50, bitsPerSecond: 200e6 },
];

export const profileName = (p: WanProfile | undefined): string => p?.name ?? 'loopback';

/** `loopback`, `20ms/1gbit`, `50ms/200mbit`, or any `<n>ms/<n>(k|m|g)bit`. */
export function parseProfile(text: string): WanProfile | undefined {
  if (text === 'loopback') return undefined;
  const m = /^(\d+(?:\.\d+)?)ms\/(\d+(?:\.\d+)?)(k|m|g)bit$/.exec(text);
  if (!m) throw new Error(`profile must be loopback or <n>ms/<n>(k|m|g)bit, got ${JSON.stringify(text)}`);
  const unit = { k: 1e3, m: 1e6, g: 1e9 }[m[3] as 'k' | 'm' | 'g'];
  return { name: text, rttMs: Number(m[1]), bitsPerSecond: Number(m[2]) * unit };
}

export interface WanStats {
  connections: number;
  /** Connections whose first bytes were not an HTTP/1.x request (e.g. a TLS ClientHello). */
  opaqueConnections: number;
  /** HTTP requests seen, by method. */
  requests: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
}

export interface WanProxy {
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  profile: WanProfile;
  readonly stats: WanStats;
  /** Total of stats.requests. */
  requestCount(): number;
  /** Zero the counters (between measurements on one proxy). */
  reset(): void;
  stop(): Promise<void>;
}

const emptyStats = (): WanStats => ({ connections: 0, opaqueConnections: 0, requests: {}, bytesUp: 0, bytesDown: 0 });

/** One direction of the WAN: a FIFO bottleneck of `bytesPerMs` followed by `delayMs` of wire. */
class Link {
  private freeAt = 0;
  constructor(
    readonly bytesPerMs: number,
    readonly delayMs: number,
  ) {}

  /** When `bytes` handed over now (not before `notBefore`) arrive at the far end. */
  arrival(bytes: number, notBefore: number): number {
    const start = Math.max(performance.now(), notBefore, this.freeAt);
    this.freeAt = start + bytes / this.bytesPerMs;
    return this.freeAt + this.delayMs;
  }
}

type Item = { at: number; chunk?: Buffer };

/**
 * Moves one socket's bytes to another over a Link, in order, pausing the source while
 * more than `window` bytes are on their way (queued, on the wire, or in the destination's
 * write buffer).
 */
function relay(from: net.Socket, to: net.Socket, link: Link, window: number, readyAt: number, onBytes: (b: Buffer) => void): void {
  const queue: Item[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  const busy = (): boolean => inFlight + to.writableLength > window;
  const arm = (): void => {
    if (timer || queue.length === 0) return;
    timer = setTimeout(deliver, Math.max(0, queue[0]!.at - performance.now()));
  };
  const deliver = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0]!.at <= now + 0.5) {
      const item = queue.shift()!;
      if (to.destroyed) return;
      if (item.chunk) {
        inFlight -= item.chunk.length;
        to.write(item.chunk);
      } else {
        to.end();
      }
    }
    if (!busy() && from.isPaused()) from.resume();
    arm();
  };
  to.on('drain', () => {
    if (!busy() && from.isPaused()) from.resume();
  });
  from.on('data', (chunk: Buffer) => {
    onBytes(chunk);
    inFlight += chunk.length;
    queue.push({ at: link.arrival(chunk.length, readyAt), chunk });
    if (busy()) from.pause();
    arm();
  });
  from.on('end', () => {
    // FIN travels behind the data, one delay after the last byte left.
    const last = queue[queue.length - 1]?.at ?? 0;
    queue.push({ at: Math.max(last, performance.now() + link.delayMs), chunk: undefined });
    arm();
  });
  const stop = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    queue.length = 0;
  };
  to.on('close', stop);
}

/**
 * Parses the request stream of one HTTP/1.1 connection just enough to count requests:
 * heads are collected (up to 64 KiB), bodies skipped by Content-Length or chunked framing.
 */
export class RequestCounter {
  private state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'opaque' = 'head';
  private head = Buffer.alloc(0);
  private remaining = 0;
  private line = '';
  /** Set once the stream is found not to be HTTP/1.x. */
  opaque = false;

  constructor(private readonly onRequest: (method: string, target: string) => void) {}

  push(data: Buffer): void {
    let buf = data;
    while (buf.length > 0 && this.state !== 'opaque') {
      switch (this.state) {
        case 'head': {
          const joined = this.head.length ? Buffer.concat([this.head, buf]) : buf;
          const end = joined.indexOf('\r\n\r\n');
          if (end < 0) {
            if (joined.length > 65536 || (joined.length >= 8 && !/^[A-Z]+ /.test(joined.subarray(0, 8).toString('latin1')))) {
              this.goOpaque();
              return;
            }
            this.head = Buffer.from(joined);
            return;
          }
          this.head = Buffer.alloc(0);
          if (!this.parseHead(joined.subarray(0, end).toString('latin1'))) return;
          buf = joined.subarray(end + 4);
          break;
        }
        case 'body': {
          const n = Math.min(this.remaining, buf.length);
          this.remaining -= n;
          buf = buf.subarray(n);
          if (this.remaining === 0) this.state = 'head';
          break;
        }
        case 'chunk-size':
        case 'chunk-end':
        case 'trailer': {
          const nl = buf.indexOf('\n');
          const part = buf.subarray(0, nl < 0 ? buf.length : nl + 1).toString('latin1');
          buf = buf.subarray(part.length);
          this.line += part;
          if (nl < 0) {
            if (this.line.length > 8192) this.goOpaque();
            break;
          }
          const line = this.line.trim();
          this.line = '';
          if (this.state === 'chunk-end') {
            this.state = 'chunk-size';
          } else if (this.state === 'trailer') {
            if (line === '') this.state = 'head';
          } else {
            const size = parseInt(line.split(';')[0]!, 16);
            if (!Number.isFinite(size)) {
              this.goOpaque();
              return;
            }
            if (size === 0) this.state = 'trailer';
            else {
              this.remaining = size;
              this.state = 'chunk-data';
            }
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length);
          this.remaining -= n;
          buf = buf.subarray(n);
          if (this.remaining === 0) this.state = 'chunk-end';
          break;
        }
      }
    }
  }

  private goOpaque(): void {
    this.state = 'opaque';
    this.opaque = true;
    this.head = Buffer.alloc(0);
  }

  /** false when the head is not an HTTP/1.x request. */
  private parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
    if (!m) {
      this.goOpaque();
      return false;
    }
    this.onRequest(m[1]!, m[2]!);
    let length = 0;
    let chunked = false;
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
    }
    if (chunked) this.state = 'chunk-size';
    else if (length > 0) {
      this.remaining = length;
      this.state = 'body';
    } else this.state = 'head';
    return true;
  }
}

/** Starts a proxy on 127.0.0.1 (a free port) forwarding to `target` through `profile`. */
export async function startWanProxy(target: { host: string; port: number }, profile: WanProfile): Promise<WanProxy> {
  const bytesPerMs = profile.bitsPerSecond / 8 / 1000;
  const oneWay = profile.rttMs / 2;
  const up = new Link(bytesPerMs, oneWay);
  const down = new Link(bytesPerMs, oneWay);
  // Enough in flight to fill the pipe one way, plus some queue: a single connection still
  // reaches the full rate, and the proxy never holds more than this per connection.
  const window = Math.ceil(bytesPerMs * oneWay) + 256 * 1024;
  let stats = emptyStats();
  const sockets = new Set<net.Socket>();

  // Half-open allowed: a FIN is relayed (behind the data) like any byte, and a socket closes
  // once both of its directions have ended. A reset or error cuts both sides at once.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    const accepted = performance.now();
    const upstream = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
    const pair: [net.Socket, net.Socket][] = [
      [client, upstream],
      [upstream, client],
    ];
    for (const [s, other] of pair) {
      let ended = false;
      s.setNoDelay(true);
      sockets.add(s);
      s.on('end', () => {
        ended = true;
      });
      s.on('error', () => other.destroy());
      s.on('close', () => {
        sockets.delete(s);
        if (!ended) other.destroy();
      });
    }
    const counted = stats;
    const counter = new RequestCounter((method) => {
      counted.requests[method] = (counted.requests[method] ?? 0) + 1;
    });
    // The client's first bytes leave after the handshake round trip.
    relay(client, upstream, up, window, accepted + profile.rttMs, (b) => {
      counted.bytesUp += b.length;
      if (counter.opaque) return;
      counter.push(b);
      if (counter.opaque) counted.opaqueConnections++;
    });
    relay(upstream, client, down, window, 0, (b) => {
      counted.bytesDown += b.length;
    });
  });
  // A port fetch accepts (not on the Fetch standard's bad-port list).
  const port = await listenOnFreePort(server);
  return {
    host: `127.0.0.1:${port}`,
    port,
    profile,
    get stats() {
      return stats;
    },
    requestCount: () => Object.values(stats.requests).reduce((a, b) => a + b, 0),
    reset() {
      stats = emptyStats();
    },
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** "GET 3 · HEAD 4 · PUT 5": a request mix in a fixed method order. */
export function requestMix(requests: Record<string, number>): string {
  const order = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'];
  const names = Object.keys(requests).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  return names.map((m) => `${m} ${requests[m]}`).join(' · ');
}
