import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExitCode, isTarpushError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/index.js';
import { listTags, resolveDigest } from '../../src/remote/index.js';

/** A client handed in for the wrong registry is the caller's mistake: USAGE (exit 2), and nothing is sent. */
describe('remote operations with a caller\'s client', () => {
  // No registry listens here: a request would fail as NETWORK_ERROR, not USAGE.
  const client = new RegistryClient('127.0.0.1:9');
  after(() => client.close());

  it('refuses a client of another registry before any request', async () => {
    for (const op of [() => listTags('127.0.0.1:10/team/app', { client }), () => resolveDigest('127.0.0.1:10/team/app:v1', { client })]) {
      await assert.rejects(op(), (err: unknown) => {
        assert.ok(isTarpushError(err, 'USAGE'), `a TarpushError USAGE, got ${String(err)}`);
        assert.equal(err.exitCode, ExitCode.input);
        assert.equal(err.message, 'the client given is for 127.0.0.1:9, not 127.0.0.1:10');
        return true;
      });
    }
  });
});
