import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { digestHex, sha256, type Digest } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { bufferSource } from '../../src/image/sources.js';
import { openLayout } from '../../src/ocidir/index.js';
import { tempPathFor } from '../../src/ocidir/files.js';
import { expectedFacts, fixtureByName } from '../support/fixtures.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { buildTestImage } from './test-image.js';

/** The layout must never write or trust anything outside its directory, whatever it is given. */

const run = promisify(execFile);
const haveSkopeo = spawnSync('skopeo', ['--version']).status === 0;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-ocidir-safety-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh directory under the test root. */
async function fresh(name: string): Promise<string> {
  const dir = join(root, `${name}-${++n}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

const invalidNaming = (path: string) => (e: unknown) => isTarpushError(e, 'LAYOUT_INVALID') && e.message.includes(path);
const blobFile = (dir: string, d: Digest): string => join(dir, 'blobs', 'sha256', digestHex(d));

describe('layout: tags and digests never become paths outside it', () => {
  it('refuses tags that look like paths or hold controls, with an escaped message, writing nothing', async () => {
    const base = await fresh('tags');
    const dir = join(base, 'lay');
    const layout = await openLayout(dir, { create: true });
    const img = await buildTestImage();
    const indexBefore = await readFile(join(dir, 'index.json'), 'utf8');
    for (const tag of ['a/../../etc/y', '../x', '/abs', 'a//b', '', '.hidden', 'v1\nv2', 'v\u2028x', 'x\x1b[2J']) {
      await assert.rejects(
        layout.putManifest(tag, img.manifest, MediaType.ociManifest),
        (e) => isTarpushError(e, 'REFERENCE_INVALID') && !/[\n\x1b\u2028]/.test(e.message),
        JSON.stringify(tag),
      );
    }
    assert.equal(await readFile(join(dir, 'index.json'), 'utf8'), indexBefore);
    assert.deepEqual((await readdir(base)).sort(), ['lay'], 'nothing created beside the layout');
    // Both grammars still pass: a registry tag and an image-spec ref name.
    await layout.putManifest('v1.0_rc-1', img.manifest, MediaType.ociManifest);
    await layout.putManifest('example.com/app:1.0', img.manifest, MediaType.ociManifest);
    assert.deepEqual(await layout.tags(), ['v1.0_rc-1', 'example.com/app:1.0']);
  });

  it('refuses a digest that is not sha256:<64 hex> instead of looking outside blobs/', async () => {
    const base = await fresh('digest');
    const layout = await openLayout(join(base, 'lay'), { create: true });
    await writeFile(join(base, 'secret'), 'outside');
    const sneaky = 'sha256:../../../secret' as Digest;
    await assert.rejects(layout.hasBlob(sneaky), (e) => isTarpushError(e, 'MANIFEST_INVALID'));
    await assert.rejects(layout.putBlob(sneaky, bufferSource(Buffer.from('outside'), 'mem')), (e) => isTarpushError(e, 'MANIFEST_INVALID'));
    assert.equal(await readFile(join(base, 'secret'), 'utf8'), 'outside');
  });
});

describe('layout: symbolic links are not followed out of it', () => {
  async function layoutWith(link: 'blobs' | 'blobs/sha256' | 'index.json' | 'oci-layout'): Promise<{ dir: string; outside: string }> {
    const base = await fresh('link');
    const dir = join(base, 'lay');
    const outside = join(base, 'outside');
    await openLayout(dir, { create: true });
    await mkdir(outside);
    const target = join(outside, basename(link));
    if (link === 'blobs' || link === 'blobs/sha256') {
      await rm(join(dir, link), { recursive: true });
      await mkdir(target);
    } else {
      await writeFile(target, await readFile(join(dir, link)));
      await rm(join(dir, link));
    }
    await symlink(target, join(dir, link));
    return { dir, outside };
  }

  for (const link of ['blobs', 'blobs/sha256', 'index.json', 'oci-layout'] as const) {
    it(`refuses a layout whose ${link} is a link out of it, and writes nothing there`, async () => {
      const { dir, outside } = await layoutWith(link);
      const before = spawnSync('find', [outside], { encoding: 'utf8' }).stdout;
      await assert.rejects(openLayout(dir, { create: true }), invalidNaming(join(dir, link)));
      await assert.rejects(openLayout(dir), invalidNaming(join(dir, link)));
      assert.equal(spawnSync('find', [outside], { encoding: 'utf8' }).stdout, before, 'the link target is untouched');
    });
  }

  it('refuses a link at blobs/ even before the layout is complete (no mkdir through it)', async () => {
    const base = await fresh('half');
    const dir = join(base, 'lay');
    const outside = join(base, 'outside');
    await mkdir(dir);
    await mkdir(outside);
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await symlink(outside, join(dir, 'blobs'));
    await assert.rejects(openLayout(dir, { create: true }), invalidNaming(join(dir, 'blobs')));
    assert.deepEqual(await readdir(outside), []);
  });

  it('a blob file that is a link is not trusted: it is replaced by a regular file, the target kept', async () => {
    const base = await fresh('bloblink');
    const layout = await openLayout(join(base, 'lay'), { create: true });
    const data = Buffer.from('layer bytes');
    const d = sha256(data);
    const outsideFile = join(base, 'elsewhere');
    await writeFile(outsideFile, data);
    await symlink(outsideFile, blobFile(layout.root, d));
    assert.equal(await layout.hasBlob(d), false);
    assert.equal(await layout.hasBlob(d, data.length), false);
    await layout.putBlob(d, bufferSource(data, 'mem'));
    assert.ok((await lstat(blobFile(layout.root, d))).isFile());
    assert.ok((await readFile(blobFile(layout.root, d))).equals(data));
    assert.ok((await lstat(outsideFile)).isFile());
  });
});

describe('layout: a file already at a blob path is trusted only when it is that blob', () => {
  it('a truncated or same-size foreign small blob is not "present" and is replaced', async () => {
    const layout = await openLayout(join(await fresh('garbage'), 'lay'), { create: true });
    const data = Buffer.from('the real layer, 32 bytes long!!!');
    const d = sha256(data);
    for (const garbage of [data.subarray(0, 10), Buffer.alloc(data.length, 0x41)]) {
      await writeFile(blobFile(layout.root, d), garbage);
      assert.equal(await layout.hasBlob(d), false);
      assert.equal(await layout.hasBlob(d, data.length), false);
      await layout.putBlob(d, bufferSource(data, 'mem'));
      assert.ok((await readFile(blobFile(layout.root, d))).equals(data));
      assert.equal(await layout.hasBlob(d, data.length), true);
    }
  });

  it('a large same-size foreign blob: trusted by size alone, hashed with verify or without a size', async () => {
    const base = await fresh('large');
    const dir = join(base, 'lay');
    const data = Buffer.alloc(1024 * 1024 + 1, 7);
    const d = sha256(data);
    const garbage = Buffer.alloc(data.length, 8);
    const plain = await openLayout(dir, { create: true });
    await writeFile(blobFile(dir, d), garbage);
    assert.equal(await plain.hasBlob(d, data.length), true, 'over 1 MiB, no --verify: a regular file of the right size');
    assert.equal(await plain.hasBlob(d), false, 'no size to compare: hashed');
    await plain.putBlob(d, bufferSource(data, 'mem'));
    assert.ok((await readFile(blobFile(dir, d))).equals(data), 'the copy hasBlob found wrong is rewritten');

    await writeFile(blobFile(dir, d), garbage);
    const verifying = await openLayout(dir, { verify: true });
    assert.equal(await verifying.hasBlob(d, data.length), false);
    await verifying.putBlob(d, bufferSource(data, 'mem'));
    assert.ok((await readFile(blobFile(dir, d))).equals(data));
    assert.equal(await verifying.hasBlob(d, data.length), true);
    assert.ok((await readdir(join(dir, 'blobs', 'sha256'))).every((f) => !f.startsWith('.tmp-')));
  });

  it('a manifest blob with foreign bytes of the same size is rewritten by putManifest', async () => {
    const layout = await openLayout(join(await fresh('manifest'), 'lay'), { create: true });
    const img = await buildTestImage();
    await writeFile(blobFile(layout.root, img.manifestDigest), Buffer.alloc(img.manifest.length, 0x20));
    await layout.putManifest('v1', img.manifest, MediaType.ociManifest);
    assert.deepEqual((await layout.getManifest('v1')).raw, img.manifest);
  });

  it('push into a layout holding truncated and foreign layer files: skopeo reads a correct image', { skip: !haveSkopeo && 'skopeo not installed' }, async () => {
    const base = await fresh('push');
    const dir = join(base, 'lay');
    await openLayout(dir, { create: true });
    const layers = expectedFacts('kaniko.tar').images![0]!.layers;
    await writeFile(blobFile(dir, layers[0]!.digest as Digest), 'truncated');
    await writeFile(blobFile(dir, layers[1]!.digest as Digest), Buffer.alloc(layers[1]!.size, 0));
    const r = await tarpushCli(['push', fixtureByName('kaniko.tar').path, `oci:${dir}:demo`], { env: { TARPUSH_CACHE_DIR: join(base, 'cache') } });
    assert.equal(r.code, 0, r.stderr);
    // skopeo checks every blob's digest on copy.
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${dir}:demo`, `dir:${join(base, 'copy')}`]);
    for (const l of layers) assert.equal(sha256(await readFile(blobFile(dir, l.digest as Digest))), l.digest);
  });
});

describe('layout: temp files of dead runs are removed at the next open', () => {
  const distLayout = fileURLToPath(new URL('../../src/ocidir/index.js', import.meta.url));

  /** A child that streams a blob into the layout forever (a push in progress), until stopped. */
  const endlessWriter = (dir: string): string => `
      import { Readable } from 'node:stream';
      const { openLayout } = await import(${JSON.stringify(distLayout)});
      const layout = await openLayout(${JSON.stringify(dir)});
      let i = 0;
      await layout.putStream(() => new Readable({ read() { setTimeout(() => this.push(Buffer.alloc(4096, i++ & 0xff)), 5); } }));`;

  it('a writer killed with SIGKILL leaves a .tmp-blob-* that the next open removes', async () => {
    const dir = join(await fresh('kill9'), 'lay');
    await openLayout(dir, { create: true });
    const blobs = join(dir, 'blobs', 'sha256');
    const child = spawn(process.execPath, ['--input-type=module', '-e', endlessWriter(dir)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let temps: string[] = [];
    for (let tries = 0; tries < 200 && temps.length === 0; tries++) {
      await new Promise((r) => setTimeout(r, 25));
      temps = (await readdir(blobs)).filter((f) => f.startsWith('.tmp-'));
    }
    child.kill('SIGKILL');
    await exited;
    assert.equal(temps.length, 1, 'the child was writing a temp blob');
    assert.ok(temps[0]!.includes(`-${child.pid}-`), `temp name ${temps[0]} carries the writer's pid`);
    assert.deepEqual((await readdir(blobs)).filter((f) => f.startsWith('.tmp-')), temps, 'kill -9 left it');

    await openLayout(dir);
    assert.deepEqual((await readdir(blobs)).filter((f) => f.startsWith('.tmp-')), []);
  });

  it('a writer stopped by SIGTERM removes its temp blob on the way out (exit 143)', async () => {
    const dir = join(await fresh('sigterm'), 'lay');
    await openLayout(dir, { create: true });
    const blobs = join(dir, 'blobs', 'sha256');
    const child = spawn(process.execPath, ['--input-type=module', '-e', endlessWriter(dir)], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let temps: string[] = [];
    for (let tries = 0; tries < 200 && temps.length === 0; tries++) {
      await new Promise((r) => setTimeout(r, 25));
      temps = (await readdir(blobs)).filter((f) => f.startsWith('.tmp-'));
    }
    assert.equal(temps.length, 1, 'the child was writing a temp blob');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.deepEqual((await readdir(blobs)).filter((f) => f.startsWith('.tmp-')), []);
  });

  it('keeps temp files of live writers and fresh foreign ones; removes any over a day old', async () => {
    const dir = join(await fresh('sweep'), 'lay');
    const layout = await openLayout(dir, { create: true });
    const blobs = join(dir, 'blobs', 'sha256');
    const livePid = process.ppid; // alive for the whole test, and not us
    const mine = tempPathFor(join(blobs, 'blob'));
    const live = mine.replace(`-${process.pid}-`, `-${livePid}-`);
    const oldFormat = join(blobs, '.tmp-blob-0123456789abcdef'); // no pid: judged by age only
    const staleOld = join(blobs, '.tmp-blob-fedcba9876543210');
    const staleLive = live.replace(/[0-9a-f]{16}$/, 'aaaaaaaaaaaaaaaa');
    const oldIndexTemp = join(dir, '.tmp-index.json-00112233aabbccdd');
    for (const f of [mine, live, oldFormat, staleOld, staleLive, oldIndexTemp]) await writeFile(f, 'partial');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    for (const f of [staleOld, staleLive, oldIndexTemp]) await utimes(f, twoDaysAgo, twoDaysAgo);
    const img = await buildTestImage();
    await layout.putStream(() => Readable.from([img.layer])); // a real blob, untouched by the sweep

    await openLayout(dir);
    assert.deepEqual((await readdir(blobs)).filter((f) => f.startsWith('.tmp-')).sort(), [mine, live, oldFormat].map((f) => basename(f)).sort());
    assert.ok(!(await readdir(dir)).includes(basename(oldIndexTemp)));
    assert.equal(await layout.hasBlob(img.layerDigest), true);
  });
});
