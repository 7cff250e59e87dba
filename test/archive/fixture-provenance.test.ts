import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { walkTar } from '../corpus/tar-walk.js';
import { fixturesDir, skopeoAvailable } from '../support/fixtures.js';

/**
 * The fixtures made by real tools (podman, buildah, xz/zstd/bzip2, GNU tar) and by
 * fixtures/gen-peer-formats.mjs: each is there, small, carries the trait it was made for, and
 * still reads in skopeo as expected.json records (or fails in skopeo the way it recorded).
 * Checked with node:crypto and an independent tar walker, not with tarpush's readers.
 */

const run = promisify(execFile);
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface SkopeoFact {
  ref: string;
  flags?: string[];
  reads: boolean;
  manifestDigest?: string;
  configDigest?: string;
  error?: string;
}
interface ProvenanceFact {
  madeBy: string;
  skopeo: SkopeoFact[];
  images?: { configDigest: string; configEntry?: string; configEntryIsDigest?: boolean; layers: { digest?: string; present?: boolean }[] }[];
  indexJsonManifests?: number | null;
  indexDigest?: string;
  children?: { digest: string; kind: string; carried: boolean }[];
  artifacts?: { manifestDigest: string; artifactType: string; subject?: string; layers: { digest: string; mediaType: string }[] }[];
}

const expected = JSON.parse(readFileSync(join(fixturesDir, 'expected.json'), 'utf8')) as Record<string, Partial<ProvenanceFact>>;
const made = Object.entries(expected).filter((e): e is [string, ProvenanceFact] => typeof e[1].madeBy === 'string');
const bytesOf = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((n, x) => n + bytesOf(join(p, x)), 0) : statSync(p).size);
const tarFiles = (name: string): Map<string, Buffer> => {
  const w = walkTar(readFileSync(join(fixturesDir, name)));
  assert.equal(w.problem, undefined, `${name} walks cleanly`);
  return new Map(w.entries.filter((e) => e.type === '0').map((e) => [e.name, e.data]));
};

describe('fixtures from real tools and from their writers\' source', () => {
  it('every one is recorded, present, under 100 KB, and all together under 1 MB', () => {
    const names = made.map(([n]) => n);
    for (const want of [
      'podman-docker-archive.tar',
      'podman-oci-archive.tar',
      'podman-multi-image.tar',
      'buildah-manifest-list.tar',
      'buildah-manifest-list-v2s2.tar',
      'docker-archive.tar.xz',
      'docker-archive.tar.zst',
      'docker-archive.tar.bz2',
      'dot-slash.tar',
      'docker29-partial.tar',
      'docker25-untagged.tar',
      'buildx-oci-attest.tar',
      'oci-artifacts',
      'oci-artifacts-only',
      'windows-foreign.tar',
      'windows-foreign-sparse.tar',
      'config-not-digest.tar',
      'mediatype-disagrees',
    ]) {
      assert.ok(names.includes(want), `expected.json records ${want}`);
    }
    let total = 0;
    for (const [name] of made) {
      const size = bytesOf(join(fixturesDir, name));
      assert.ok(size <= 100 * 1024, `${name} is ${size} bytes`);
      total += size;
    }
    assert.ok(total <= 1024 * 1024, `together ${total} bytes`);
  });

  it('the compressed archives start with their format\'s magic bytes and are not gzip', () => {
    const magic = (n: string) => readFileSync(join(fixturesDir, n)).subarray(0, 6).toString('hex');
    assert.equal(magic('docker-archive.tar.xz'), 'fd377a585a00');
    assert.equal(magic('docker-archive.tar.zst').slice(0, 8), '28b52ffd');
    assert.equal(magic('docker-archive.tar.bz2').slice(0, 6), '425a68');
  });

  it('dot-slash.tar names every entry with a ./ prefix', () => {
    const w = walkTar(readFileSync(join(fixturesDir, 'dot-slash.tar')));
    assert.ok(w.entries.length > 5);
    for (const e of w.entries) assert.ok(e.name.startsWith('./'), e.name);
  });

  it('docker29-partial.tar keeps the whole index but carries only linux/amd64', () => {
    const files = tarFiles('docker29-partial.tar');
    const e = expected['docker29-partial.tar'] as ProvenanceFact;
    const index = JSON.parse(files.get(`blobs/sha256/${e.indexDigest!.slice(7)}`)!.toString()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    assert.equal(index.manifests.length, 4);
    const carried = index.manifests.filter((m) => files.has(`blobs/sha256/${m.digest.slice(7)}`)).map((m) => m.platform.architecture);
    assert.deepEqual(carried, ['amd64']);
    assert.deepEqual(e.children!.map((c) => [c.kind, c.carried]), [['image', true], ['unknown', false], ['unknown', false], ['unknown', false]]);
    assert.equal(files.has('repositories'), false, 'containerd\'s exporter writes no repositories file');
  });

  it('docker25-untagged.tar: index.json "manifests" is null next to a manifest.json with a config', () => {
    const files = tarFiles('docker25-untagged.tar');
    assert.equal(JSON.parse(files.get('index.json')!.toString()).manifests, null);
    const mj = JSON.parse(files.get('manifest.json')!.toString()) as { Config: string; RepoTags: null }[];
    assert.equal(mj[0]!.RepoTags, null);
    assert.ok(files.has(mj[0]!.Config));
  });

  it('config-not-digest.tar names its config by something other than its digest', () => {
    const files = tarFiles('config-not-digest.tar');
    const [img] = expected['config-not-digest.tar']!.images!;
    assert.equal(img!.configEntryIsDigest, false);
    assert.equal(sha256(files.get(img!.configEntry!)!), img!.configDigest);
    assert.notEqual(img!.configEntry, `${img!.configDigest.slice(7)}.json`);
  });

  it('windows-foreign-sparse.tar leaves the foreign layer out, windows-foreign.tar carries it', () => {
    const sparse = expected['windows-foreign-sparse.tar']!.images![0]!;
    const full = expected['windows-foreign.tar']!.images![0]!;
    assert.equal(sparse.layers[0]!.present, false);
    assert.equal(full.layers[0]!.present, undefined);
    assert.equal(sparse.layers[0]!.digest, full.layers[0]!.digest);
    assert.ok(tarFiles('windows-foreign.tar').has(`${full.layers[0]!.digest!.slice(7)}.tar.gz`));
    assert.equal(tarFiles('windows-foreign-sparse.tar').has(`${full.layers[0]!.digest!.slice(7)}.tar.gz`), false);
  });

  it('oci-artifacts/ holds an SBOM and a signature whose subject is the image; every blob hashes to its name', () => {
    const e = expected['oci-artifacts'] as ProvenanceFact & { images: { manifestDigest: string }[] };
    const image = e.images[0]!.manifestDigest;
    assert.deepEqual(e.artifacts!.map((a) => [a.artifactType, a.subject]), [
      ['application/spdx+json', image],
      ['application/vnd.dev.sigstore.bundle.v0.3+json', image],
    ]);
    for (const dir of ['oci-artifacts', 'oci-artifacts-only', 'mediatype-disagrees']) {
      const blobs = join(fixturesDir, dir, 'blobs', 'sha256');
      for (const hex of readdirSync(blobs)) assert.equal(sha256(readFileSync(join(blobs, hex))), `sha256:${hex}`, `${dir}/${hex}`);
    }
    const only = expected['oci-artifacts-only'] as ProvenanceFact;
    assert.equal(only.images, undefined, 'artifacts only');
    assert.equal(only.artifacts![0]!.layers[0]!.mediaType, 'application/example.sbom.breakfast');
  });

  it('skopeo reads each fixture as recorded, and refuses the ones recorded as unreadable', async (t) => {
    if (!(await skopeoAvailable())) return t.skip('skopeo not installed');
    for (const [name, fact] of made) {
      for (const s of fact.skopeo) {
        const args = (sub: string[]) => [...(s.flags ?? []), 'inspect', ...sub, s.ref];
        const opts = { cwd: fixturesDir, encoding: 'buffer' as const, maxBuffer: 16 << 20, timeout: 60_000 };
        if (!s.reads) {
          await assert.rejects(run('skopeo', args(['--raw']), opts), `${name}: skopeo refuses ${s.ref}`);
          continue;
        }
        const raw = (await run('skopeo', args(['--raw']), opts)).stdout;
        const cfg = (await run('skopeo', args(['--config', '--raw']), opts)).stdout;
        assert.equal(sha256(raw), s.manifestDigest, `${name}: manifest digest via ${s.ref}`);
        assert.equal(sha256(cfg), s.configDigest, `${name}: config digest via ${s.ref}`);
      }
    }
  });
});
