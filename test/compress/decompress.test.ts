import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { canDecompress, createDecompressor } from '../../src/compress/decompress.js';
import { sampleData } from './sample-data.js';

describe('createDecompressor', () => {
  it('decodes gzip, and has nothing to do for uncompressed bytes', async () => {
    const data = sampleData(300_000, 7);
    const d = createDecompressor('gzip')!;
    assert.ok((await buffer(Readable.from([zlib.gzipSync(data)]).pipe(d))).equals(data));
    assert.equal(createDecompressor('none'), undefined);
    assert.equal(canDecompress('gzip'), true);
    assert.equal(canDecompress('none'), true);
  });

  it('decodes zstd exactly where node:zlib has a zstd decoder', async () => {
    const has = typeof (zlib as unknown as Record<string, unknown>)['createZstdDecompress'] === 'function';
    assert.equal(canDecompress('zstd'), has);
    const d = createDecompressor('zstd');
    assert.equal(d !== undefined, has);
    if (d) {
      const data = sampleData(300_000, 8);
      const z = execFileSync('zstd', ['-q', '-c'], { input: data });
      assert.ok((await buffer(Readable.from([z]).pipe(d))).equals(data));
    }
  });
});
