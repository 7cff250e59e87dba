import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleAll } from '../../src/util/settle-all.js';

test('settleAll resolves values in order', async () => {
  assert.deepEqual(await settleAll([Promise.resolve(1), new Promise((r) => setTimeout(() => r(2), 5))]), [1, 2]);
});

test('settleAll rejects with the first error only after every promise settled', async () => {
  let slowDone = false;
  const slow = new Promise<number>((r) => setTimeout(() => ((slowDone = true), r(3)), 20));
  await assert.rejects(settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]), /first/);
  assert.equal(slowDone, true);
});
