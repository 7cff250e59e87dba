import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { gzipParallel } from '../../src/compress/parallel-gzip.js';
import { compressStream } from '../../src/compress/index.js';
import { isTarpushError } from '../../src/errors.js';
import { chunkedStream, collect, sampleData } from './sample-data.js';

const haveGzipCli = spawnSync('gzip', ['--version']).status === 0;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tarpush-pgzip-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Check a gzip file with the gzip CLI: `gzip -t` passes and `gunzip -c` gives `expected`. */
async function assertGzipCliAccepts(gz: Buffer, expected: Buffer, name: string): Promise<void> {
  if (!haveGzipCli) return;
  const file = join(dir, `${name}.gz`);
  await writeFile(file, gz);
  execFileSync('gzip', ['-t', file]);
  const out = execFileSync('gunzip', ['-c', file], { maxBuffer: expected.length + 1024 });
  assert.ok(out.equals(expected), `gunzip -c of ${name} differs from the input`);
}

describe('gzipParallel', () => {
  const data = sampleData(3_000_000, 7);

  it('produces one valid gzip stream that node:zlib and the gzip CLI both decode', async () => {
    const gz = await collect(gzipParallel(Readable.from([data]), { blockSize: 64 * 1024 }));
    assert.ok(zlib.gunzipSync(gz).equals(data));
    await assertGzipCliAccepts(gz, data, 'valid');
  });

  it('gives the same bytes whatever the chunking of the input and the concurrency', async () => {
    const blockSize = 64 * 1024;
    // Level 1 keeps the many runs fast; the block mechanics are the same at every level.
    const reference = await collect(gzipParallel(Readable.from([data]), { level: 1, blockSize, concurrency: 1 }));
    let seed = 100;
    for (const concurrency of [1, 2, 3, 8]) {
      for (let k = 0; k < 3; k++) {
        const out = await collect(gzipParallel(chunkedStream(data, seed++), { level: 1, blockSize, concurrency }));
        assert.ok(out.equals(reference), `output differs (concurrency ${concurrency}, chunking seed ${seed - 1})`);
      }
    }
    const six = await collect(gzipParallel(Readable.from([data]), { level: 6, blockSize, concurrency: 1 }));
    const sixParallel = await collect(gzipParallel(chunkedStream(data, 99), { level: 6, blockSize, concurrency: 4 }));
    assert.ok(sixParallel.equals(six), 'level 6 output differs with concurrency 4');
    // Tiny chunks (1-64 bytes) too: block cuts must not depend on where chunks end.
    const tiny = data.subarray(0, 300_000);
    const tinyRef = await collect(gzipParallel(Readable.from([tiny]), { blockSize: 4096, concurrency: 1 }));
    const tinyOut = await collect(gzipParallel(chunkedStream(tiny, 5, 64), { blockSize: 4096, concurrency: 4 }));
    assert.ok(tinyOut.equals(tinyRef));
    assert.ok(zlib.gunzipSync(tinyOut).equals(tiny));
  });

  it('keeps compressing when the queue of blocks is full and input chunks span many blocks', async () => {
    // 1 KiB blocks from chunks of up to 200 KB: the queue (2 × concurrency + 1 blocks) fills
    // on every chunk, and blocks cut as it drains must still be started.
    const data = sampleData(600_000, 21);
    for (let seed = 1; seed <= 6; seed++) {
      const gz = await collect(gzipParallel(chunkedStream(data, seed), { level: 1, blockSize: 1024 }));
      assert.ok(zlib.gunzipSync(gz).equals(data), `chunking seed ${seed}`);
    }
  });

  it('changes output with block size and level, each still valid', async () => {
    const data = sampleData(1_000_000, 8);
    const outs = new Map<string, Buffer>();
    for (const [level, blockSize] of [
      [1, 64 * 1024],
      [6, 64 * 1024],
      [9, 64 * 1024],
      [6, 1024],
      [6, 1 << 20],
    ] as const) {
      const gz = await collect(gzipParallel(chunkedStream(data, level + blockSize), { level, blockSize }));
      assert.ok(zlib.gunzipSync(gz).equals(data), `level ${level} block ${blockSize}`);
      outs.set(`${level}/${blockSize}`, gz);
    }
    assert.ok(outs.get('1/65536')!.length > outs.get('6/65536')!.length, 'level 1 compresses less than level 6');
    assert.notDeepEqual(outs.get('6/65536'), outs.get('6/1024'));
  });

  it('compresses within 1% of single-stream gzip at the same level (the dictionary carries matches across blocks)', async () => {
    const gz = await collect(gzipParallel(Readable.from([data]), { level: 6, blockSize: 128 * 1024 }));
    const single = zlib.gzipSync(data, { level: 6 });
    assert.ok(gz.length <= single.length * 1.01, `parallel ${gz.length} vs single ${single.length}`);
  });

  it('writes a fixed header (mtime 0, no name, OS 255) and a CRC/ISIZE trailer', async () => {
    const gz = await collect(gzipParallel(Readable.from([data]), { level: 1 }));
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff]);
    assert.equal(gz.readUInt32LE(gz.length - 8), zlib.crc32(data));
    assert.equal(gz.readUInt32LE(gz.length - 4), data.length);
    const gz9 = await collect(gzipParallel(Readable.from([data.subarray(0, 1000)]), { level: 9 }));
    assert.equal(gz9[8], 2);
  });

  it('handles empty input, a single byte and inputs that end exactly on a block border', async () => {
    const empty = await collect(gzipParallel(Readable.from([])));
    assert.equal(zlib.gunzipSync(empty).length, 0);
    await assertGzipCliAccepts(empty, Buffer.alloc(0), 'empty');

    const one = Buffer.from('x');
    const gzOne = await collect(gzipParallel(Readable.from([one])));
    assert.ok(zlib.gunzipSync(gzOne).equals(one));

    const blockSize = 32 * 1024;
    for (const n of [blockSize, 2 * blockSize, 3 * blockSize + 1, 3 * blockSize - 1]) {
      const input = data.subarray(0, n);
      const gz = await collect(gzipParallel(chunkedStream(input, n), { blockSize }));
      assert.ok(zlib.gunzipSync(gz).equals(input), `length ${n}`);
      await assertGzipCliAccepts(gz, input, `border-${n}`);
    }
  });

  it('handles an input that has already ended', async () => {
    const input = Readable.from([Buffer.from('gone')]);
    await collect(input);
    assert.equal(zlib.gunzipSync(await collect(gzipParallel(input))).length, 0);
  });

  it('accepts string and Uint8Array chunks', async () => {
    const gz = await collect(gzipParallel(Readable.from(['abc', new Uint8Array([100, 101]), Buffer.from('f')], { objectMode: true })));
    assert.equal(zlib.gunzipSync(gz).toString(), 'abcdef');
  });

  it('reads the input only as fast as the output is consumed (bounded memory)', async () => {
    let produced = 0;
    const rand = sampleData(64 * 1024, 3);
    const endless = new Readable({
      read() {
        produced += rand.length;
        this.push(rand);
      },
    });
    const out = gzipParallel(endless, { blockSize: 64 * 1024, concurrency: 2 });
    // Start it, take one chunk, then stop reading.
    const first = await new Promise<Buffer>((resolve) => out.once('readable', () => resolve(out.read() as Buffer)));
    assert.ok(first.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const stalled = produced;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(produced, stalled, 'input keeps being read while nobody reads the output');
    // (2 × concurrency + 1) blocks queued + the input stream's own buffer + output buffer.
    assert.ok(produced < 2 * 1024 * 1024, `read ${produced} bytes ahead of a stalled consumer`);
    out.destroy();
    await new Promise((r) => setImmediate(r));
    assert.ok(endless.destroyed, 'destroying the output destroys the input');
  });

  it('passes input errors through', async () => {
    const failing = new Readable({
      read() {
        this.push(data.subarray(0, 200_000));
        this.destroy(new Error('disk on fire'));
      },
    });
    await assert.rejects(collect(gzipParallel(failing, { blockSize: 64 * 1024 })), /disk on fire/);
  });

  it('reports an input that closes without ending', async () => {
    const input = new PassThrough();
    const out = gzipParallel(input);
    const done = collect(out);
    input.write(Buffer.alloc(1000));
    setImmediate(() => input.destroy());
    await assert.rejects(done, /premature close/i);
  });

  it('rejects bad options with USAGE', () => {
    for (const opts of [{ level: 0 }, { level: 10 }, { level: 2.5 }, { blockSize: 10 }, { concurrency: 0 }]) {
      assert.throws(() => gzipParallel(Readable.from([]), opts), (e) => isTarpushError(e, 'USAGE'));
    }
  });

  it('compresses a 50 MB input correctly (checked by hash through gunzip -c)', async () => {
    const big = sampleData(50 * 1024 * 1024, 11);
    const want = createHash('sha256').update(big).digest('hex');
    const gz = gzipParallel(Readable.from([big]), { level: 1 });
    if (haveGzipCli) {
      const child = spawn('gunzip', ['-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const hash = createHash('sha256');
      const exited = new Promise<number | null>((r) => child.on('close', r));
      await Promise.all([pipeline(gz, child.stdin), pipeline(child.stdout, hash)]);
      assert.equal(await exited, 0);
      assert.equal(hash.digest('hex'), want);
    } else {
      const hash = createHash('sha256');
      await pipeline(gz, zlib.createGunzip(), hash);
      assert.equal(hash.digest('hex'), want);
    }
  });
});

describe('compressStream', () => {
  it('returns the input unchanged for none and gzips for gzip', async () => {
    const input = Readable.from([Buffer.from('hello')]);
    assert.equal(compressStream(input, 'none'), input);
    const gz = await collect(compressStream(Readable.from([Buffer.from('hello')]), 'gzip', { level: 1 }));
    assert.equal(zlib.gunzipSync(gz).toString(), 'hello');
  });
});
