/**
 * The committed fixtures (fixtures/, see fixtures/README.md) for tests: where each lives,
 * which format it is, how skopeo names it, and what it should yield — both as recorded when
 * it was generated (fixtures/expected.json) and as skopeo reads it now, so reader tests can
 * compare tarpush with an independent implementation.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchiveFormat } from '../../src/image/types.js';

/** Repository root: this file runs as dist/test/support/fixtures.js, three levels down. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixturesDir = join(repoRoot, 'fixtures');

export interface Fixture {
  /** file or directory name under fixtures/ (also the key in expected.json) */
  name: string;
  /** absolute path */
  path: string;
  format: ArchiveFormat;
  /** how skopeo addresses the (first) image, or undefined when skopeo cannot read it */
  skopeoTransport: string | undefined;
  /** number of images the archive holds (a multi-platform index counts as one) */
  images: number;
  /** the RepoTag or ref name each image is found by, in archive order */
  names: string[];
  /** made by the real tool (umoci, skopeo, podman, buildah, a compressor, GNU tar) or written by our generators (fixtures/README.md) */
  madeBy: 'umoci' | 'skopeo' | 'podman' | 'buildah' | 'compressor' | 'tar' | 'gen-formats' | 'gen-peer-formats';
  /** a multi-platform image: the platforms it carries, in index order (skopeo picks them with --override-arch) */
  platforms?: { arch: string; variant?: string }[];
}

function fixture(
  name: string,
  format: ArchiveFormat,
  images: number,
  names: string[],
  madeBy: Fixture['madeBy'],
  transport: (p: string) => string | undefined,
  platforms?: Fixture['platforms'],
): Fixture {
  const path = join(fixturesDir, name);
  return { name, path, format, skopeoTransport: transport(path), images, names, madeBy, ...(platforms ? { platforms } : {}) };
}

const amdArm = [{ arch: 'amd64' }, { arch: 'arm64', variant: 'v8' }];

export const fixtures: readonly Fixture[] = [
  fixture('oci-layout', 'oci-dir', 1, ['demo'], 'umoci', (p) => `oci:${p}:demo`),
  fixture('oci-archive.tar', 'oci-archive', 1, ['demo'], 'skopeo', (p) => `oci-archive:${p}:demo`),
  fixture('docker-archive.tar', 'docker-save', 1, ['example.com/demo/app:v1'], 'skopeo', (p) => `docker-archive:${p}`),
  fixture('kaniko.tar', 'kaniko', 1, ['registry.example/demo/kaniko:latest'], 'gen-formats', (p) => `docker-archive:${p}`),
  fixture('docker25.tar', 'docker-save-oci', 1, ['example.com/demo/d25:v1'], 'gen-formats', (p) => `docker-archive:${p}`),
  fixture('multi-image.tar', 'docker-save', 2, ['example.com/demo/one:v1', 'example.com/demo/two:v2'], 'gen-formats', (p) => `docker-archive:${p}:example.com/demo/one:v1`),
  fixture('multi-platform', 'oci-dir', 1, ['multi'], 'gen-formats', (p) => `oci:${p}:multi`, amdArm),
  fixture('multi-platform.tar', 'oci-archive', 1, ['multi'], 'skopeo', (p) => `oci-archive:${p}:multi`, amdArm),
  // Real tools (fixtures/make-fixtures.sh) and writers followed from their source (gen-peer-formats.mjs).
  fixture('podman-docker-archive.tar', 'docker-save', 1, ['example.com/demo/podman:v1'], 'podman', (p) => `docker-archive:${p}`),
  fixture('podman-oci-archive.tar', 'oci-archive', 1, ['example.com/demo/podman:v1'], 'podman', (p) => `oci-archive:${p}`),
  fixture('podman-multi-image.tar', 'docker-save', 2, ['example.com/demo/podman:v1', 'example.com/demo/podman-two:v2'], 'podman', (p) => `docker-archive:${p}:example.com/demo/podman:v1`),
  fixture('buildah-manifest-list.tar', 'oci-archive', 1, ['v1'], 'buildah', (p) => `oci-archive:${p}:v1`, amdArm),
  fixture('docker-archive.tar.xz', 'docker-save', 1, ['example.com/demo/app:v1'], 'compressor', (p) => `docker-archive:${p}`),
  fixture('docker-archive.tar.zst', 'docker-save', 1, ['example.com/demo/app:v1'], 'compressor', (p) => `docker-archive:${p}`),
  fixture('docker-archive.tar.bz2', 'docker-save', 1, ['example.com/demo/app:v1'], 'compressor', (p) => `docker-archive:${p}`),
  fixture('dot-slash.tar', 'oci-archive', 1, ['demo'], 'tar', (p) => `oci-archive:${p}:demo`),
  // Docker 29 partial save: skopeo reads the manifest.json view (the one carried platform).
  fixture('docker29-partial.tar', 'docker-save-oci', 1, ['example/multi:1.0'], 'gen-peer-formats', (p) => `docker-archive:${p}`),
  // buildx OCI output: the image and its attestation manifest (an artifact, not listed among images).
  fixture('buildx-oci-attest.tar', 'oci-archive', 1, ['v1'], 'gen-peer-formats', (p) => `oci-archive:${p}:v1`),
  // an image and two artifacts referring to it: the image is what skopeo reads.
  fixture('oci-artifacts', 'oci-dir', 1, ['v1'], 'gen-peer-formats', (p) => `oci:${p}:v1`),
  fixture('config-not-digest.tar', 'docker-save', 1, ['example.com/demo/legacy:v1'], 'gen-peer-formats', (p) => `docker-archive:${p}`),
];

export function fixtureByName(name: string): Fixture {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture named ${name}`);
  return f;
}

/** Facts recorded when the fixtures were generated (fixtures/expected.json). */
export interface ExpectedLayer {
  digest: string;
  size: number;
  mediaType: string;
}
export interface ExpectedImage {
  repoTags?: string[];
  refName?: string;
  platform?: { os: string; architecture: string; variant?: string };
  configDigest: string;
  diffIds: string[];
  layers: ExpectedLayer[];
  manifestMediaType?: string;
  manifestDigest?: string;
  /** kaniko.tar only: the manifest bytes go-containerregistry would push */
  manifest?: string;
}
export interface ExpectedFixture {
  /** single-platform images, archive order */
  images?: ExpectedImage[];
  /** multi-platform: the nested index and its platform images */
  refName?: string;
  indexDigest?: string;
  indexMediaType?: string;
  platforms?: ExpectedImage[];
}

let expectedCache: Record<string, ExpectedFixture> | undefined;
export function expectedFacts(f: Fixture | string): ExpectedFixture {
  expectedCache ??= JSON.parse(readFileSync(join(fixturesDir, 'expected.json'), 'utf8')) as Record<string, ExpectedFixture>;
  const name = typeof f === 'string' ? f : f.name;
  const e = expectedCache[name];
  if (!e) throw new Error(`fixtures/expected.json has no entry for ${name}`);
  return e;
}

// ------------------------------------------------------------------------------------------
// skopeo
// ------------------------------------------------------------------------------------------

function run(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}

let skopeoFound: Promise<boolean> | undefined;
/** Whether a skopeo binary runs here (tests that need it skip otherwise). */
export function skopeoAvailable(): Promise<boolean> {
  skopeoFound ??= run('skopeo', ['--version']).then(
    () => true,
    () => false,
  );
  return skopeoFound;
}

export interface SkopeoExpectations {
  /** sha256 of the config bytes skopeo serves */
  configDigest: string;
  /** rootfs.diff_ids of that config */
  diffIds: string[];
  /** media type and digest of the raw manifest skopeo serves (an index for multi-platform) */
  manifestMediaType: string;
  manifestDigest: string;
  architecture: string;
  os: string;
}

export interface SkopeoOptions {
  /** another transport than the fixture's (e.g. the second image of multi-image.tar) */
  transport?: string;
  /** pick this architecture out of a multi-platform index (skopeo --override-arch) */
  arch?: string;
  variant?: string;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * What skopeo reads from a fixture: `skopeo inspect --raw` (manifest) and
 * `skopeo inspect --config --raw` (config bytes, so the digest is of the exact bytes).
 * Runs skopeo with execFile, no shell.
 */
export async function skopeoExpectations(f: Fixture, opts: SkopeoOptions = {}): Promise<SkopeoExpectations> {
  const transport = opts.transport ?? f.skopeoTransport;
  if (!transport) throw new Error(`skopeo cannot read fixture ${f.name}`);
  return skopeoAt(transport, opts);
}

/** skopeoExpectations for any archive: `transport` is skopeo's name for it (`docker-archive:…`, `oci-archive:…`). */
export async function skopeoAt(transport: string, opts: Omit<SkopeoOptions, 'transport'> = {}): Promise<SkopeoExpectations> {
  const platform = [...(opts.arch ? ['--override-arch', opts.arch] : []), ...(opts.variant ? ['--override-variant', opts.variant] : [])];
  const [rawManifest, rawConfig] = await Promise.all([
    run('skopeo', [...platform, 'inspect', '--raw', transport]),
    run('skopeo', [...platform, 'inspect', '--config', '--raw', transport]),
  ]);
  const manifest = JSON.parse(rawManifest.toString('utf8')) as { mediaType?: string; manifests?: unknown };
  const config = JSON.parse(rawConfig.toString('utf8')) as { architecture: string; os: string; rootfs: { diff_ids: string[] } };
  return {
    configDigest: sha256(rawConfig),
    diffIds: config.rootfs.diff_ids,
    manifestMediaType: manifest.mediaType ?? (manifest.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json'),
    manifestDigest: sha256(rawManifest),
    architecture: config.architecture,
    os: config.os,
  };
}
