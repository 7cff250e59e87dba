import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ByteBudget } from '../../src/compress/block-budget.js';
import { GZIP_BLOCK_BUDGET } from '../../src/compress/defaults.js';
import { gzipBlockBudget, gzipParallel } from '../../src/compress/parallel-gzip.js';
import { chunkedStream, collect, sampleData } from './sample-data.js';

/** Read a stream slowly (a pause every few chunks), as an upload over a slow link would. */
async function slowCollect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    parts.push(c as Buffer);
    if (++n % 4 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  return Buffer.concat(parts);
}

describe('gzip block budget', () => {
  it('keeps the blocks in flight of several streams at once within one shared budget', async () => {
    const blockSize = 64 * 1024;
    const budget = new ByteBudget(2 * blockSize);
    const inputs = [1, 2, 3, 4].map((seed) => sampleData(3_000_000, seed));
    const outs = await Promise.all(inputs.map((d, i) => slowCollect(gzipParallel(chunkedStream(d, 40 + i), { level: 1, blockSize, concurrency: 4, budget }))));
    outs.forEach((gz, i) => assert.ok(zlib.gunzipSync(gz).equals(inputs[i]!), `stream ${i} decodes to its input`));
    // The limit, plus one block for each stream that held none (so none waits for the others
    // forever): 6 blocks. Without a shared budget each stream could hold 2 × 4 + 1: 36 blocks.
    assert.ok(budget.peak <= budget.limit + inputs.length * blockSize, `peak ${budget.peak} bytes in flight, budget ${budget.limit}`);
    assert.ok(budget.peak >= 2 * blockSize, `the budget was used (peak ${budget.peak})`);
    assert.equal(budget.inUse, 0, 'every block was given back');
  });

  it('gives the same bytes under a tight budget as without one', async () => {
    const data = sampleData(2_000_000, 9);
    const blockSize = 64 * 1024;
    const free = await collect(gzipParallel(chunkedStream(data, 3), { level: 1, blockSize, budget: new ByteBudget(1 << 30) }));
    const tight = await collect(gzipParallel(chunkedStream(data, 4), { level: 1, blockSize, budget: new ByteBudget(blockSize) }));
    assert.ok(tight.equals(free));
  });

  it('lets every stream through when one block is bigger than the budget', async () => {
    const budget = new ByteBudget(1024);
    const inputs = [5, 6, 7].map((seed) => sampleData(600_000, seed));
    const outs = await Promise.all(inputs.map((d) => collect(gzipParallel(Readable.from([d]), { level: 1, blockSize: 128 * 1024, budget }))));
    outs.forEach((gz, i) => assert.ok(zlib.gunzipSync(gz).equals(inputs[i]!)));
    // Over the limit, a stream holding nothing may take one block: at most one each.
    assert.ok(budget.peak <= 3 * 128 * 1024, `peak ${budget.peak}`);
    assert.equal(budget.inUse, 0);
  });

  it('does not let an unread stream hold up another, and takes back the share of a destroyed one', async () => {
    const blockSize = 64 * 1024;
    const budget = new ByteBudget(2 * blockSize);
    const stuck = gzipParallel(Readable.from([sampleData(1_000_000, 1)]), { level: 1, blockSize, budget });
    stuck.pause();
    stuck.once('readable', () => {}); // starts it; nobody reads, so its blocks stay held
    for (let i = 0; i < 200 && budget.inUse < 2 * blockSize; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(budget.inUse, 2 * blockSize, 'the unread stream holds the whole budget');
    const data = sampleData(500_000, 2);
    const gz = await collect(gzipParallel(Readable.from([data]), { level: 1, blockSize, budget }));
    assert.ok(zlib.gunzipSync(gz).equals(data), 'the other stream went on, one block at a time');
    const closed = new Promise((r) => stuck.once('close', r));
    stuck.destroy();
    await closed;
    assert.equal(budget.inUse, 0);
  });

  it('bounds the default streams by the process-wide budget', async () => {
    const inputs = [11, 12, 13].map((seed) => sampleData(6_000_000, seed));
    const outs = await Promise.all(inputs.map((d, i) => slowCollect(gzipParallel(chunkedStream(d, 50 + i), { level: 1 }))));
    outs.forEach((gz, i) => assert.ok(zlib.gunzipSync(gz).equals(inputs[i]!)));
    assert.equal(gzipBlockBudget.limit, GZIP_BLOCK_BUDGET);
    assert.ok(gzipBlockBudget.peak <= GZIP_BLOCK_BUDGET + inputs.length * (1 << 20), `peak ${gzipBlockBudget.peak}`);
    assert.equal(gzipBlockBudget.inUse, 0);
  });
});
