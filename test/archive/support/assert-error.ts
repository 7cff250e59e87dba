import assert from 'node:assert/strict';
import { isTarpushError } from '../../../src/errors.js';

/** An assert.rejects validator: a TarpushError with `code` whose message matches every pattern. */
export function tarpushError(code: string, ...patterns: RegExp[]) {
  return (err: unknown): true => {
    assert.ok(isTarpushError(err), `expected a TarpushError ${code}, got ${err instanceof Error ? err.stack : String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}
