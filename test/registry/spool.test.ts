import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Opening, Spool } from '../../src/registry/spool.js';
import { digestOf, randomBlob } from './helpers.js';

const chunks = (data: Buffer, size: number) => () => {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
};

async function drainBody(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

describe('Opening', () => {
  it('hashes every byte once and leaves out the bytes the registry holds', async () => {
    const b = randomBlob(100_000);
    const o = new Opening(chunks(b.data, 7000));
    let counted = 0;
    const sent = await drainBody(o.body(25_000, (n) => (counted += n)));
    assert.deepEqual(sent, b.data.subarray(25_000));
    assert.equal(counted, 75_000);
    assert.equal(o.bytes, 100_000);
    assert.equal(o.digest(), b.digest);
  });

  it('fails when the stream is shorter than what must be skipped', async () => {
    const o = new Opening(chunks(Buffer.alloc(10), 3));
    await assert.rejects(drainBody(o.body(20, () => {})), (e: Error & { code?: string }) => e.code === 'SIZE_MISMATCH');
  });

  it('cuts reads into pieces without losing bytes', async () => {
    const b = randomBlob(10_000);
    const o = new Opening(chunks(b.data, 3000));
    const pending: Buffer[] = [];
    const pieces: Buffer[] = [];
    for (let p = await o.read(4096, pending); p.length > 0; p = await o.read(4096, pending)) pieces.push(p);
    assert.deepEqual(pieces.map((p) => p.length), [4096, 4096, 1808]);
    assert.deepEqual(Buffer.concat(pieces), b.data);
    assert.equal(o.digest(), b.digest);
  });

  it('keeps reading the same stream into the spool after a request stopped pulling', async () => {
    const b = randomBlob(50_000);
    const spool = await Spool.create();
    try {
      const o = new Opening(chunks(b.data, 4000), spool);
      // a request that stops after three chunks (as undici does when the registry answers early)
      let taken = 0;
      for await (const c of o.body(0, () => {})) {
        taken += c.length;
        if (taken >= 12_000) break;
      }
      await o.drain();
      await spool.finish();
      assert.deepEqual(await readFile(spool.path), b.data);
      assert.equal(o.digest(), digestOf(b.data));
      assert.equal((await stat(spool.path)).size, 50_000);
    } finally {
      await spool.remove();
    }
  });
});
