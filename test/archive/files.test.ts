import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readHead } from '../../src/archive/files.js';
import { isTarpushError } from '../../src/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tarpush-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readHead (the one head-of-file read)', () => {
  it('reads at most n bytes of a region, fewer when it is shorter', async () => {
    const file = join(dir, 'f');
    await writeFile(file, 'abcdefgh');
    assert.equal((await readHead({ name: 'f', file, offset: 2, size: 6, location: 'f' }, 4)).toString(), 'cdef');
    assert.equal((await readHead({ name: 'f', file, offset: 6, size: 2, location: 'f' }, 4)).toString(), 'gh');
  });

  it('a read failure is ARCHIVE_UNREADABLE with the system message escaped (a file name may hold control bytes)', async () => {
    const file = join(dir, 'gone\x1b[31m');
    await assert.rejects(readHead({ name: 'gone', file, offset: 0, size: 4, location: 'gone' }, 4), (e) => {
      assert.ok(isTarpushError(e, 'ARCHIVE_UNREADABLE'));
      assert.ok(!e.message.includes('\x1b'), e.message);
      assert.match(e.message, /gone\\x1b\[31m/);
      return true;
    });
  });
});
