/**
 * A free TCP port on 127.0.0.1 for a test server.
 *
 * The port is found by binding port 0 and releasing it, so another process may grab it before
 * the caller binds: callers that start an external process (the registry) retry on
 * "address already in use". Ports that Node's fetch refuses to connect to (the Fetch
 * standard's "bad ports") are never returned, so any test server is reachable with fetch.
 */
import net from 'node:net';

/** The Fetch standard's bad-port list (undici rejects these with "bad port"). */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
]);

function bindOnce(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port that was free on `host` (default 127.0.0.1) a moment ago and that fetch accepts. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindOnce(host);
    if (port > 0 && !FETCH_BAD_PORTS.has(port)) return port;
  }
  throw new Error(`freePort: no usable port found on ${host} after 20 attempts`);
}

/**
 * Starts `server` listening on an OS-chosen port of `host` (no race: the port is never
 * released), choosing again if the OS hands out a port fetch refuses. Returns the port.
 */
export async function listenOnFreePort(
  server: { listen(port: number, host: string, cb: () => void): unknown; close(cb?: (err?: Error) => void): unknown; address(): unknown; once(event: 'error', cb: (err: Error) => void): unknown; off(event: 'error', cb: (err: Error) => void): unknown },
  host = '127.0.0.1',
): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        const address = server.address() as { port?: number } | null;
        resolve(address?.port ?? 0);
      });
    });
    if (!FETCH_BAD_PORTS.has(port)) return port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  throw new Error(`listenOnFreePort: no usable port on ${host} after 20 attempts`);
}
