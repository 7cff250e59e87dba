import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestCA } from './certs.js';

test('makeTestCA makes a CA and a server certificate for 127.0.0.1 and localhost signed by it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-certs-'));
  try {
    const { caFile, certFile, keyFile } = await makeTestCA(dir);
    const ca = new X509Certificate(await readFile(caFile));
    const server = new X509Certificate(await readFile(certFile));
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.equal(server.verify(ca.publicKey), true, 'server cert is signed by the CA');
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('127.0.0.2'), undefined);
    assert.match(await readFile(keyFile, 'utf8'), /BEGIN PRIVATE KEY/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
