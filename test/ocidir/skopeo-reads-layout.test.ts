import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { digestHex } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { bufferSource } from '../../src/image/sources.js';
import { openLayout } from '../../src/ocidir/index.js';
import { buildTestImage } from './test-image.js';

const run = promisify(execFile);
const haveSkopeo = spawnSync('skopeo', ['--version']).status === 0;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-ocidir-skopeo-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a layout tarpush wrote, read by skopeo', { skip: !haveSkopeo && 'skopeo not installed' }, () => {
  it('inspects and copies (skopeo verifies every digest)', async () => {
    const img = await buildTestImage();
    const dir = join(root, 'layout');
    const layout = await openLayout(dir, { create: true });
    // The layer through putStream (as a layer compressed on the fly), the config through putBlob.
    const stored = await layout.putStream(() => Readable.from([img.layer]));
    assert.equal(stored.digest, img.layerDigest);
    await layout.putBlob(img.configDigest, bufferSource(img.config, 'config'));
    await layout.putManifest('v1', img.manifest, MediaType.ociManifest);
    await layout.putManifest('latest', img.manifest, MediaType.ociManifest);

    for (const tag of ['v1', 'latest']) {
      const { stdout } = await run('skopeo', ['inspect', `oci:${dir}:${tag}`]);
      const info = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string; Os: string };
      assert.equal(info.Digest, img.manifestDigest);
      assert.deepEqual(info.Layers, [img.layerDigest]);
      assert.equal(info.Architecture, 'amd64');
      assert.equal(info.Os, 'linux');
    }

    const out = join(root, 'copied');
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${dir}:v1`, `dir:${out}`]);
    const files = await readdir(out);
    assert.ok(files.includes('manifest.json'));
    assert.ok((await readFile(join(out, digestHex(img.layerDigest)))).equals(img.layer));
    assert.ok((await readFile(join(out, 'manifest.json'))).equals(img.manifest), 'skopeo kept our manifest bytes');
  });
});
