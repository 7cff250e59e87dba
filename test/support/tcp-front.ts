/**
 * A TCP front for a real registry that can go away the way a restarting registry does: for
 * an outage it stops listening (new connections are refused) and cuts every open
 * connection, then listens again on the same port. Or it can freeze: connections are
 * accepted (and forwarded ones cut), but nothing is ever answered. Loopback only.
 */
import net from 'node:net';
import { listenOnFreePort } from './free-port.js';

export interface TcpFront {
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** Connections accepted so far (forwarded or frozen). */
  connections: number;
  /** Go down now for `ms` (refusing and cutting connections); resolves once listening again. */
  outage(ms: number): Promise<void>;
  /** true: accept connections and never answer; false: forward again. */
  freeze(frozen: boolean): void;
  stop(): Promise<void>;
}

export async function startTcpFront(target: { host: string; port: number }): Promise<TcpFront> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (frozen) {
      client.resume(); // read and drop: the peer sees its bytes go out, and silence
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listenOnFreePort(server);
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    host: `127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    async outage(ms: number) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      cutAll();
      await closed;
      await new Promise((r) => setTimeout(r, ms));
      await listen();
    },
    freeze(f: boolean) {
      frozen = f;
      if (f) cutAll();
    },
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      cutAll();
      await closed;
    },
  };
}
