import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { openLayout } from '../../src/ocidir/index.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-ocidir-layout-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const invalid = (e: unknown): boolean => isTarpushError(e, 'LAYOUT_INVALID');

describe('openLayout', () => {
  it('creates a missing directory as an empty layout', async () => {
    const dir = join(root, 'new', 'nested');
    const layout = await openLayout(dir, { create: true });
    assert.equal(layout.name, `oci:${dir}`);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.equal(index.schemaVersion, 2);
    assert.deepEqual(index.manifests, []);
    assert.deepEqual(await readdir(join(dir, 'blobs')), ['sha256']);
    assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout'], 'no temp files left');
    assert.deepEqual(await layout.tags(), []);
  });

  it('creates a layout in an existing empty directory', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    await openLayout(dir, { create: true });
    assert.ok((await readdir(dir)).includes('oci-layout'));
  });

  it('opens an existing layout without changing it, with or without create', async () => {
    const dir = join(root, 'existing');
    await openLayout(dir, { create: true });
    const custom = JSON.stringify({ schemaVersion: 2, manifests: [], annotations: { keep: 'me' } });
    await writeFile(join(dir, 'index.json'), custom);
    await openLayout(dir);
    await openLayout(dir, { create: true });
    assert.equal(await readFile(join(dir, 'index.json'), 'utf8'), custom);
  });

  it('refuses a missing or empty directory without create', async () => {
    await assert.rejects(openLayout(join(root, 'absent')), (e) => invalid(e) && /does not exist/.test((e as Error).message));
    const dir = join(root, 'empty2');
    await mkdir(dir);
    await assert.rejects(openLayout(dir), (e) => invalid(e) && /is empty/.test((e as Error).message));
  });

  it('refuses a non-empty directory that is not a layout, and leaves it alone', async () => {
    const dir = join(root, 'project');
    await mkdir(dir);
    await writeFile(join(dir, 'README'), 'mine');
    await assert.rejects(openLayout(dir, { create: true }), (e) => invalid(e) && /no oci-layout file/.test((e as Error).message));
    assert.deepEqual(await readdir(dir), ['README']);
  });

  it('refuses a file, a bad oci-layout and a bad index.json', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(openLayout(file, { create: true }), (e) => invalid(e) && /not a directory/.test((e as Error).message));

    const dir = join(root, 'broken');
    await openLayout(dir, { create: true });
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(openLayout(dir), invalid);
    await writeFile(join(dir, 'oci-layout'), 'nope');
    await assert.rejects(openLayout(dir), invalid);
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2}');
    await assert.rejects(openLayout(dir), (e) => invalid(e) && /manifests/.test((e as Error).message));
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"sha256:00"}]}');
    await assert.rejects(openLayout(dir), (e) => invalid(e) && /manifests\[0\]/.test((e as Error).message));
    await rm(join(dir, 'index.json'));
    await assert.rejects(openLayout(dir), (e) => invalid(e) && /no index.json/.test((e as Error).message));
    // With create, a layout missing only its index.json gets an empty one.
    await openLayout(dir, { create: true });
    assert.equal(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')).manifests.length, 0);
  });

  it('survives several concurrent creations of the same layout', async () => {
    const dir = join(root, 'race');
    await Promise.all(Array.from({ length: 8 }, () => openLayout(dir, { create: true })));
    assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });
});
