import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openArchive } from '../../src/archive/index.js';
import { fixture } from '../publish/support.js';

test('xz archives open one after another in one process (the decoder lock is released when the spool stops early)', { timeout: 60_000 }, async () => {
  // xz-decompress decodes one stream at a time per process; a spool that stops at the tar's
  // end used to leave it locked, and the third archive waited forever (found by bench/fault-rate).
  for (let i = 0; i < 5; i++) {
    const a = await Promise.race([
      openArchive(fixture('docker-archive.tar.xz')),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`open ${i + 1} hung`)), 10_000)),
    ]);
    assert.equal(a.images.length, 1);
    await a.close();
  }
});
