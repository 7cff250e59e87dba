import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limit } from '../../src/util/limit.js';

test('limit runs at most n tasks at once and keeps every result', async () => {
  const run = limit(2);
  let active = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return i * 2;
      }),
    ),
  );
  assert.equal(peak, 2);
  assert.deepEqual(results, [0, 2, 4, 6, 8, 10, 12]);
});

test('limit passes rejections through and keeps going', async () => {
  const run = limit(1);
  const failed = run(async () => {
    throw new Error('boom');
  });
  await assert.rejects(failed, /boom/);
  assert.equal(await run(async () => 'next'), 'next');
});

test('limit refuses a non-positive concurrency', () => {
  assert.throws(() => limit(0), RangeError);
});
