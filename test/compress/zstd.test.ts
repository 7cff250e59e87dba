import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { assertCompressionSupported, zstdAvailable, zstdStream } from '../../src/compress/zstd.js';
import { compressionLevelDefault } from '../../src/compress/defaults.js';
import { isTarpushError } from '../../src/errors.js';
import { collect, sampleData } from './sample-data.js';

describe('zstd support', () => {
  it('gzip and none are always supported', () => {
    assertCompressionSupported('gzip');
    assertCompressionSupported('none');
  });

  it('matches what node:zlib offers', () => {
    const has = typeof (zlib as unknown as Record<string, unknown>)['createZstdCompress'] === 'function';
    assert.equal(zstdAvailable(), has);
    if (has) {
      assertCompressionSupported('zstd');
    } else {
      assert.throws(
        () => assertCompressionSupported('zstd'),
        (e) => isTarpushError(e, 'USAGE') && /Node ≥ 22\.15/.test(e.message),
      );
      assert.throws(() => zstdStream(Readable.from([])), (e) => isTarpushError(e, 'USAGE'));
    }
  });

  it('compresses deterministically when available', { skip: !zstdAvailable() && 'node:zlib has no zstd here' }, async () => {
    const data = sampleData(1_000_000, 4);
    const a = await collect(zstdStream(Readable.from([data]), compressionLevelDefault('zstd')));
    const b = await collect(zstdStream(Readable.from([data.subarray(0, 5), data.subarray(5)]), compressionLevelDefault('zstd')));
    assert.ok(a.equals(b));
    const z = zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer };
    assert.ok(z.zstdDecompressSync(a).equals(data));
  });
});
