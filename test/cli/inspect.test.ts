import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { CliIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/inspect.js';
import { main } from '../../src/cli/main.js';
import { packTar, tempDir, writeTemp } from '../archive/support/build-tar.js';
import { kanikoEntries, makeConfig, makeLayer, sha, type LayerBlob } from '../archive/support/images.js';

function io(stdin: Readable = Readable.from([])): CliIO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout, stderr, stdin, env: {}, out: () => out, err: () => err };
}

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
let tarBytes: Buffer;
let l1: LayerBlob;
let l2: LayerBlob;
let config: Buffer;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  l1 = await makeLayer({ a: '1' });
  l2 = await makeLayer({ b: '2' }, 'none');
  config = makeConfig([l1.diffId, l2.diffId], { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const other = makeConfig([l1.diffId]);
  tarBytes = await packTar(kanikoEntries([{ tags: ['app:1'], layers: [l1, l2], config }, { tags: ['other:2'], layers: [l1], config: other }]));
  file = await writeTemp(dir, 'img.tar', tarBytes);
});
after(() => cleanup());

describe('tarpush inspect', () => {
  it('--json prints every image with the documented shape', async () => {
    const t = io();
    assert.equal(await run([file, '--json'], t), 0);
    const doc = JSON.parse(t.out());
    assert.equal(doc.images.length, 2);
    const img = doc.images[0];
    assert.deepEqual(img.repoTags, ['app:1']);
    assert.deepEqual(img.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.deepEqual(img.config, { digest: sha(config), size: config.length });
    assert.match(img.digest, /^sha256:[a-f0-9]{64}$/);
    assert.deepEqual(
      img.layers.map((l: Record<string, unknown>) => ({ digest: l.digest, size: l.size, compression: l.compression, diffId: l.diffId })),
      [
        { digest: l1.digest, size: l1.size, compression: 'gzip', diffId: l1.diffId },
        { digest: l2.digest, size: l2.size, compression: 'none', diffId: l2.diffId },
      ],
    );
  });

  it('prints a human summary, one line per layer, and --verify checks content', async () => {
    const t = io();
    assert.equal(await run([file, '--image', 'app:1', '--verify'], t), 0);
    const text = t.out();
    assert.match(text, /^image 0: app:1$/m);
    assert.match(text, /platform: linux\/arm64\/v8/);
    assert.match(text, new RegExp(`config:\\s+${sha(config)}`));
    assert.match(text, new RegExp(`${l1.digest}\\s+\\d+ B\\s+gzip\\s+diff_id ${l1.diffId}`));
    assert.match(text, new RegExp(`${l2.digest}\\s+\\d+(\\.\\d)? (B|KiB)\\s+none\\s+diff_id ${l2.diffId}`));
    assert.match(text, /^ {2}verified$/m);
    assert.doesNotMatch(text, /other:2/);
  });

  it('reads "-" from stdin (gzipped here)', async () => {
    const t = io(Readable.from([gzipSync(tarBytes)]));
    assert.equal(await run(['-', '--json', '--image', '1'], t), 0);
    assert.deepEqual(JSON.parse(t.out()).images.map((i: { repoTags: string[]; position: number }) => [i.position, i.repoTags]), [[1, ['other:2']]]);
  });

  it('reports errors as one line with the code and exits 2', async () => {
    const t = io();
    assert.equal(await main(['inspect', `${dir}/missing.tar`], t), 2);
    assert.match(t.err(), /^tarpush: ARCHIVE_UNREADABLE: cannot open .*missing\.tar/);
    assert.equal(t.err().trim().split('\n').length, 1);
    const t2 = io();
    assert.equal(await main(['inspect', file, '--image', 'nope:1'], t2), 2);
    assert.match(t2.err(), /^tarpush: IMAGE_NOT_FOUND: .*app:1.*other:2/);
    const t3 = io();
    assert.equal(await main(['inspect'], t3), 2);
    assert.match(t3.err(), /^tarpush: USAGE: /);
  });
});
