import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { digestHex, sha256 } from '../../src/image/digest.js';
import { bufferSource, fileRangeSource } from '../../src/image/sources.js';
import type { ByteSource } from '../../src/image/types.js';
import { openLayout, type OciLayout } from '../../src/ocidir/index.js';

let root: string;
let layout: OciLayout;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-ocidir-blob-'));
  layout = await openLayout(join(root, 'layout'), { create: true });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const blobFiles = async (): Promise<string[]> => (await readdir(join(layout.root, 'blobs', 'sha256'))).sort();

describe('OciLayout blobs', () => {
  it('stores a blob under its digest and reports progress', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const file = join(root, 'src.bin');
    await writeFile(file, Buffer.concat([Buffer.from('HEAD'), data, Buffer.from('TAIL')]));
    const digest = sha256(data);
    const progress: number[] = [];
    assert.equal(await layout.hasBlob(digest), false);
    await layout.putBlob(digest, fileRangeSource(file, 4, data.length, 'src.bin!data'), (n) => progress.push(n));
    assert.equal(await layout.hasBlob(digest), true);
    assert.ok((await readFile(join(layout.root, 'blobs', 'sha256', digestHex(digest)))).equals(data));
    assert.equal(progress.at(-1), data.length);
    assert.ok(progress.every((n, i) => i === 0 || n >= progress[i - 1]!), 'progress is monotonic');
    // Again: already there, nothing rewritten, still reports completion.
    let reported = 0;
    await layout.putBlob(digest, bufferSource(data, 'mem'), (n) => (reported = n));
    assert.equal(reported, data.length);
  });

  it('refuses bytes that do not match the digest and leaves nothing behind', async () => {
    const before = await blobFiles();
    const claimed = sha256('something else');
    await assert.rejects(
      layout.putBlob(claimed, bufferSource(Buffer.from('actual bytes'), 'layer.tar')),
      (e) => isTarpushError(e, 'DIGEST_MISMATCH') && e.message.includes(claimed) && e.message.includes('layer.tar'),
    );
    await assert.rejects(
      layout.putBlob(sha256('abc'), { ...bufferSource(Buffer.from('abcd'), 'mem'), size: 3 } as ByteSource),
      (e) => isTarpushError(e, 'SIZE_MISMATCH'),
    );
    assert.deepEqual(await blobFiles(), before, 'no blob and no temp file added');
    assert.equal(await layout.hasBlob(claimed), false);
  });

  it('stops reading a source that yields more than its size at the first byte too many (no temp file grows)', async () => {
    const before = await blobFiles();
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const endless: ByteSource = {
      size: 100,
      location: 'endless.tar',
      // Bounded for the test: 256 MiB at most, far more than the check may read.
      open: () => new Readable({ read() { produced += chunk.length; this.push(produced > 256 * 2 ** 20 ? null : chunk); } }),
    };
    await assert.rejects(layout.putBlob(sha256('x'), endless), (e) => isTarpushError(e, 'SIZE_MISMATCH') && /more than 100 bytes/.test(e.message));
    assert.ok(produced < 8 * 2 ** 20, `read ${produced} bytes`);
    assert.deepEqual(await blobFiles(), before, 'no blob and no temp file added');
  });

  it('removes the temp file when the source fails midway', async () => {
    const before = await blobFiles();
    const failing: ByteSource = {
      size: 100_000,
      location: 'broken.tar',
      open: () =>
        new Readable({
          read() {
            this.push(Buffer.alloc(50_000));
            this.destroy(new Error('read error in broken.tar'));
          },
        }),
    };
    await assert.rejects(layout.putBlob(sha256('x'), failing), /read error in broken.tar/);
    assert.deepEqual(await blobFiles(), before);
  });

  it('putStream stores bytes of unknown digest and reports what it stored', async () => {
    const data = Buffer.from('streamed layer bytes '.repeat(10_000));
    const progress: number[] = [];
    const stored = await layout.putStream(() => Readable.from([data.subarray(0, 1000), data.subarray(1000)]), (n) => progress.push(n));
    assert.deepEqual(stored, { digest: sha256(data), size: data.length });
    assert.ok((await readFile(join(layout.root, 'blobs', 'sha256', digestHex(stored.digest)))).equals(data));
    assert.equal(progress.at(-1), data.length);
    // Storing the same bytes again is harmless.
    assert.deepEqual(await layout.putStream(() => Readable.from([data])), stored);
    assert.ok((await blobFiles()).every((f) => !f.startsWith('.tmp-')));
  });

  it('putStream removes its temp file on a stream error', async () => {
    const before = await blobFiles();
    await assert.rejects(
      layout.putStream(
        () =>
          new Readable({
            read() {
              this.destroy(new Error('compressor failed'));
            },
          }),
      ),
      /compressor failed/,
    );
    assert.deepEqual(await blobFiles(), before);
  });
});
