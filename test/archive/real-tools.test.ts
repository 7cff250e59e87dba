import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openArchive } from '../../src/archive/open.js';
import type { Image } from '../../src/image/types.js';
import { verifyImage } from '../../src/image/verify.js';
import { tempDir } from './support/build-tar.js';

/**
 * Archives written by the real tools (umoci for an OCI layout, skopeo for docker-archive
 * and oci-archive), read back and compared with what skopeo itself reports.
 */

const run = promisify(execFile);
async function have(tool: string): Promise<boolean> {
  try {
    await run(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let cleanup: () => Promise<void>;
let tools = false;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = (await have('skopeo')) && (await have('umoci'));
  if (!tools) return;
  const layout = join(dir, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t1`]);
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src', 'hello'), 'hello from umoci\n');
  await run('umoci', ['insert', '--image', `${layout}:t1`, join(dir, 'src', 'hello'), '/etc/hello']);
  await run('skopeo', ['copy', '-q', `oci:${layout}:t1`, `docker-archive:${join(dir, 'docker.tar')}:example.com/demo:v1`]);
  await run('skopeo', ['copy', '-q', `oci:${layout}:t1`, `oci-archive:${join(dir, 'oci.tar')}:v1`]);
});
after(async () => {
  await cleanup();
});

const skopeoJson = async (...args: string[]) => JSON.parse((await run('skopeo', ['inspect', ...args])).stdout);

describe('archives written by skopeo and umoci', () => {
  it('docker-archive: config digest, diff_ids and layer digests match skopeo inspect', async (t) => {
    if (!tools) return t.skip('skopeo or umoci not installed');
    const ref = `docker-archive:${join(dir, 'docker.tar')}`;
    const raw = await skopeoJson('--raw', ref);
    const cfg = await skopeoJson('--config', '--raw', ref);
    const archive = await openArchive(join(dir, 'docker.tar'));
    assert.equal(archive.format, 'docker-save');
    assert.deepEqual(archive.images[0]!.repoTags, ['example.com/demo:v1']);
    const img = archive.images[0]!.root as Image;
    assert.equal(img.config.digest, raw.config.digest);
    assert.equal(img.config.size, raw.config.size);
    assert.deepEqual(img.layers.map((l) => l.diffId), cfg.rootfs.diff_ids);
    assert.deepEqual(img.layers.map((l) => [l.digest, l.size]), raw.layers.map((l: { digest: string; size: number }) => [l.digest, l.size]));
    assert.deepEqual(img.layers.map((l) => l.compression), ['none']);
    await verifyImage(img);
    await archive.close();
  });

  it('OCI layout directory (umoci) and oci-archive (skopeo): manifest digest matches skopeo inspect', async (t) => {
    if (!tools) return t.skip('skopeo or umoci not installed');
    const fromDir = await skopeoJson(`oci:${join(dir, 'layout')}:t1`);
    const cfg = await skopeoJson('--config', '--raw', `oci:${join(dir, 'layout')}:t1`);
    const layoutArchive = await openArchive(join(dir, 'layout'));
    assert.equal(layoutArchive.format, 'oci-dir');
    assert.equal(layoutArchive.images[0]!.refName, 't1');
    const img = layoutArchive.images[0]!.root as Image;
    assert.equal(img.digest, fromDir.Digest);
    assert.deepEqual(img.layers.map((l) => l.diffId), cfg.rootfs.diff_ids);
    assert.deepEqual(img.layers.map((l) => l.digest), fromDir.Layers);
    await verifyImage(img);

    const ociTar = await openArchive(join(dir, 'oci.tar'));
    assert.equal(ociTar.format, 'oci-archive');
    const fromTar = await skopeoJson(`oci-archive:${join(dir, 'oci.tar')}`);
    assert.equal(ociTar.images[0]!.root.digest, fromTar.Digest);
    await verifyImage(ociTar.images[0]!.root);
  });
});
