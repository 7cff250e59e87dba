import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, isTarpushError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/index.js';
import { resolveOptions, type ClientOptions } from '../../src/registry/options.js';

/** Options a library caller got wrong are a usage error (exit 2), never a registry failure (exit 1). */
describe('client options', () => {
  const bad: Array<[ClientOptions, RegExp]> = [
    [{ retries: -1 }, /retries must be a non-negative number, got -1/],
    [{ timeoutMs: Number.NaN }, /timeoutMs must be a non-negative number, got NaN/],
    [{ readTimeoutMs: Infinity }, /readTimeoutMs must be a non-negative number, got Infinity/],
    [{ retryWindowMs: -5 }, /retryWindowMs/],
    [{ maxRetryWaitMs: -1 }, /maxRetryWaitMs/],
    [{ chunkSize: 0 }, /chunkSize must be at least 1 byte, got 0/],
    [{ chunkSize: -3 }, /chunkSize must be a non-negative number/],
  ];

  for (const [opts, message] of bad) {
    it(`refuses ${JSON.stringify(opts, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))} as USAGE`, () => {
      for (const make of [() => resolveOptions(opts), () => new RegistryClient('localhost:5000', opts)]) {
        assert.throws(make, (err: unknown) => {
          assert.ok(isTarpushError(err, 'USAGE'), `a TarpushError USAGE, got ${String(err)}`);
          assert.equal(err.exitCode, ExitCode.input);
          assert.match(err.message, /^registry client options: /);
          assert.match(err.message, message);
          return true;
        });
      }
    });
  }

  it('takes the edge values', () => {
    const o = resolveOptions({ retries: 0, timeoutMs: 0, chunkSize: 1 });
    assert.equal(o.retries, 0);
    assert.equal(o.timeoutMs, 1, '0 would mean "no limit" to undici');
    assert.equal(o.chunkSize, 1);
  });
});
