import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storedBytes } from '../../src/registry/upload-session.js';

describe('storedBytes (the Range of an upload session)', () => {
  it('reads "0-<last>" and the "bytes=" form', () => {
    assert.equal(storedBytes('0-1048575'), 1 << 20);
    assert.equal(storedBytes('bytes=0-99'), 100);
  });
  it('reads distribution\'s "0-0" (and "0--1") for an empty session as nothing stored', () => {
    assert.equal(storedBytes('0-0'), 0);
    assert.equal(storedBytes('0--1'), 0);
  });
  it('is undefined without a usable Range', () => {
    assert.equal(storedBytes(undefined), undefined);
    assert.equal(storedBytes('garbage'), undefined);
  });
});
