import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatBytesOf, formatDuration, formatRate } from '../../src/util/format-bytes.js';

test('sizes are binary units, rounded: B, KiB, MiB, GiB', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(49.8 * 1024 * 1024), '49.8 MiB');
  assert.equal(formatBytes(383 * 1024 * 1024), '383 MiB');
  assert.equal(formatBytes(1024 * 1024 - 20), '1.0 MiB', 'a value that rounds up to 1024 goes to the next unit');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
  assert.equal(formatBytes(70.54263565891473), '71 B', 'never a fraction of a byte');
});

test('rates and pairs use the same units; durations are short', () => {
  assert.equal(formatRate(70.54263565891473, 1000), '71 B/s');
  assert.equal(formatRate(10 * 1024 * 1024, 4000), '2.5 MiB/s');
  assert.equal(formatRate(5, 0), '');
  assert.equal(formatBytesOf(3.4 * 1024 * 1024, 10 * 1024 * 1024), '3.4/10.0 MiB');
  assert.equal(formatBytesOf(900 * 1024, 1.5 * 1024 * 1024), '900 KiB/1.5 MiB');
  assert.equal(formatDuration(3240), '3.2s');
  assert.equal(formatDuration(42_000), '42s');
  assert.equal(formatDuration(59_700), '1m00s');
  assert.equal(formatDuration(245_000), '4m05s');
  assert.equal(formatDuration(3_725_000), '1h02m');
});
