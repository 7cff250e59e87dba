import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { FETCH_BAD_PORTS, freePort, listenOnFreePort } from './free-port.js';

test('freePort returns a bindable port that fetch accepts', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(FETCH_BAD_PORTS.has(port), false);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('the bad-port list has the ports Node fetch refuses', async () => {
  for (const port of [5060, 5061, 6000, 6665, 6669, 6697, 10080]) assert.ok(FETCH_BAD_PORTS.has(port));
  await assert.rejects(fetch('http://127.0.0.1:6000/'), (err: Error & { cause?: Error }) => {
    assert.match(String(err.cause?.message ?? err.message), /bad port/i);
    return true;
  });
});

test('listenOnFreePort binds without releasing the port', async () => {
  const server = net.createServer((socket) => socket.end('hi'));
  const port = await listenOnFreePort(server);
  assert.equal((server.address() as net.AddressInfo).port, port);
  const text = await new Promise<string>((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1');
    let data = '';
    client.on('data', (d) => (data += d.toString()));
    client.on('end', () => resolve(data));
    client.on('error', reject);
  });
  assert.equal(text, 'hi');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
