import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { RequestCounter, parseProfile, startWanProxy, type WanProxy } from '../../bench/lib/wan-proxy.js';
import { listenOnFreePort } from '../support/free-port.js';

// Lower bounds are tight (nothing may arrive sooner than the link allows); upper bounds leave
// room for a loaded 2-core machine, but not for a delay applied twice or half the rate.
const now = (): number => performance.now();

/** A TCP server that echoes what it gets. */
async function startEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (b) => s.write(b));
  });
  const port = await listenOnFreePort(server);
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `out`, resolves once `expect` bytes came back (elapsed ms from the write). */
function roundTrip(s: net.Socket, out: Buffer, expect: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = now();
    let got = 0;
    const onData = (b: Buffer): void => {
      got += b.length;
      if (got >= expect) {
        s.off('data', onData);
        resolve(now() - t0);
      }
    };
    s.on('data', onData);
    s.write(out);
  });
}

describe('WAN proxy: delay and rate', { timeout: 30_000 }, () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  before(async () => {
    echo = await startEcho();
  });
  after(async () => {
    await echo.close();
  });

  test('a round trip costs the RTT, the first one the handshake too', async () => {
    const proxy = await startWanProxy({ host: '127.0.0.1', port: echo.port }, parseProfile('40ms/1gbit')!);
    try {
      const s = await connect(proxy.port);
      const first = await roundTrip(s, Buffer.from('ping'), 4);
      const later: number[] = [];
      for (let i = 0; i < 5; i++) later.push(await roundTrip(s, Buffer.from('ping'), 4));
      s.destroy();
      later.sort((a, b) => a - b);
      const median = later[2]!;
      // Never faster than the model; the upper bounds leave room for a loaded machine but
      // not for a delay applied twice (160 ms, 80 ms).
      // handshake (40) + there (20) + back (20)
      assert.ok(first >= 79 && first < 155, `first round trip ${first.toFixed(1)} ms, want ≈ 80`);
      assert.ok(later[0]! >= 39, `fastest round trip ${later[0]!.toFixed(1)} ms, want ≥ 40`);
      assert.ok(median < 75, `median round trip ${median.toFixed(1)} ms, want ≈ 40`);
      assert.equal(proxy.stats.connections, 1);
      assert.equal(proxy.stats.bytesUp, 24);
      assert.equal(proxy.stats.bytesDown, 24);
    } finally {
      await proxy.stop();
    }
  });

  test('a transfer runs at the link rate, and two connections share it', async () => {
    // 16 Mbit/s = 2 MB/s each way; 512 KiB up and echoed back down (pipelined) ≈ 0.26 s + RTT.
    const proxy = await startWanProxy({ host: '127.0.0.1', port: echo.port }, parseProfile('2ms/16mbit')!);
    try {
      const size = 512 * 1024;
      const ideal = (size / 2e6) * 1000;
      const s = await connect(proxy.port);
      await roundTrip(s, Buffer.from('x'), 1); // past the handshake
      const one = await roundTrip(s, Buffer.alloc(size, 1), size);
      assert.ok(one >= ideal * 0.97 && one < ideal * 1.5 + 60, `one connection: ${one.toFixed(0)} ms for 512 KiB, want ≈ ${ideal.toFixed(0)}`);

      const t = await connect(proxy.port);
      await roundTrip(t, Buffer.from('x'), 1);
      const t0 = now();
      await Promise.all([roundTrip(s, Buffer.alloc(size, 2), size), roundTrip(t, Buffer.alloc(size, 3), size)]);
      const both = now() - t0;
      // Shared bucket: two connections together take twice as long as one alone.
      assert.ok(both >= 2 * ideal * 0.97 && both < 2 * ideal * 1.5 + 60, `two connections: ${both.toFixed(0)} ms for 2 × 512 KiB, want ≈ ${(2 * ideal).toFixed(0)}`);
      s.destroy();
      t.destroy();
    } finally {
      await proxy.stop();
    }
  });

  test('a big upload is streamed, not buffered: the proxy holds about a window at a time', async () => {
    // The sink reads slowly (paused after each chunk); the proxy must stop reading the client.
    let received = 0;
    let sinkSocket: net.Socket | undefined;
    const sink = net.createServer((sock) => {
      sinkSocket = sock;
      sock.pause();
      sock.on('data', (b) => (received += b.length));
    });
    const sinkPort = await listenOnFreePort(sink);
    const proxy = await startWanProxy({ host: '127.0.0.1', port: sinkPort }, parseProfile('2ms/1gbit')!);
    try {
      const s = await connect(proxy.port);
      const chunk = Buffer.alloc(64 * 1024);
      let written = 0;
      // Write until the client's own buffer backs up (bounded: at most 256 MiB offered).
      while (written < 256 * 2 ** 20 && s.write(chunk)) written += chunk.length;
      await new Promise((r) => setTimeout(r, 300));
      written += chunk.length;
      // Only what the kernel buffers (a few MiB on loopback) plus the proxy's window got through.
      assert.ok(written < 64 * 2 ** 20, `client wrote ${written} bytes without back-pressure`);
      assert.ok(proxy.stats.bytesUp < 32 * 2 ** 20, `proxy read ${proxy.stats.bytesUp} bytes while the far end read nothing`);
      sinkSocket!.resume();
      s.end();
      await new Promise<void>((r) => sinkSocket!.on('end', () => r()));
      assert.equal(received, written);
    } finally {
      await proxy.stop();
      await new Promise((r) => sink.close(() => r(undefined)));
    }
  });
});

describe('WAN proxy: request counting', { timeout: 30_000 }, () => {
  let server: http.Server;
  let port: number;
  let proxy: WanProxy;
  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(req.method === 'HEAD' ? undefined : 'ok'));
    });
    port = await listenOnFreePort(server);
    proxy = await startWanProxy({ host: '127.0.0.1', port }, parseProfile('1ms/1gbit')!);
  });
  after(async () => {
    await proxy.stop();
    await new Promise((r) => server.close(() => r(undefined)));
  });

  test('requests over one keep-alive connection are counted by method, bodies skipped', async () => {
    proxy.reset();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const call = (method: string, body?: Buffer, chunked = false): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: proxy.port, method, path: '/v2/x', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        if (body && chunked) {
          // Two chunks; the first contains text that looks like a request line.
          req.write(body.subarray(0, 10));
          req.write(body.subarray(10));
          req.end();
        } else {
          if (body) req.setHeader('Content-Length', body.length);
          req.end(body);
        }
      });
    const tricky = Buffer.from('GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
    assert.equal(await call('GET'), 200);
    assert.equal(await call('PUT', tricky), 200);
    assert.equal(await call('POST', tricky, true), 200);
    assert.equal(await call('PATCH', Buffer.alloc(200_000, 7)), 200);
    // Last: node's client does not reuse a socket after a HEAD.
    assert.equal(await call('HEAD'), 200);
    agent.destroy();
    assert.deepEqual(proxy.stats.requests, { GET: 1, PUT: 1, POST: 1, PATCH: 1, HEAD: 1 });
    assert.equal(proxy.requestCount(), 5);
    assert.equal(proxy.stats.connections, 1);
    assert.equal(proxy.stats.opaqueConnections, 0);
  });

  test('a connection that is not HTTP/1.x is passed through and not counted', async () => {
    proxy.reset();
    const s = await connect(proxy.port);
    const closed = new Promise((r) => s.on('close', r));
    s.on('error', () => {});
    s.resume();
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await closed; // node:http answers 400 and closes
    assert.equal(proxy.stats.connections, 1);
    assert.equal(proxy.stats.opaqueConnections, 1);
    assert.equal(proxy.requestCount(), 0);
  });

  test('the parser gives the same count however the stream is cut', () => {
    const body = 'PUT /fake HTTP/1.1\r\n\r\n';
    const stream = Buffer.from(
      `PUT /a HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        `POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\n0\r\nX-Trailer: 1\r\n\r\n` +
        `HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n`,
    );
    for (const step of [1, 2, 3, 7, 50, stream.length]) {
      const seen: string[] = [];
      const c = new RequestCounter((m, t) => seen.push(`${m} ${t}`));
      for (let i = 0; i < stream.length; i += step) c.push(stream.subarray(i, i + step));
      assert.deepEqual(seen, ['PUT /a', 'POST /b', 'HEAD /c'], `cut every ${step} bytes`);
      assert.equal(c.opaque, false);
    }
  });
});
