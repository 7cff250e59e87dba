/**
 * The published package, as a user gets it: `npm pack` in a copy of the source tree (only the
 * files git knows, no dist/, as a clean clone has), the tarball installed into a temp prefix,
 * and the installed `tarpush` run. The runtime dependencies are installed at the versions of
 * our package-lock.json (runtime entries only) from the local npm cache, which `npm ci` filled.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../support/fixtures.js';
import { skopeo } from '../support/skopeo.js';

interface Sh {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Sh> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function must(r: Sh, what: string): Sh {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  [k: string]: unknown;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tarpush-pack-'));
const src = path.join(tmp, 'src');
const prefix = path.join(tmp, 'prefix');
let tarball = '';
let packedFiles: string[] = [];
let installedBin = '';
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};
// The digest cache of these runs stays in the temp dir.
const runEnv = { TARPUSH_CACHE_DIR: path.join(tmp, 'cache') };

before(async () => {
  // The tree a clean clone has: tracked files plus new ones not yet committed, never dist/.
  const listed = must(await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], repoRoot), 'git ls-files');
  for (const rel of listed.stdout.split('\0')) {
    if (!rel || rel.startsWith('dist/') || !existsSync(path.join(repoRoot, rel))) continue;
    mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    cpSync(path.join(repoRoot, rel), path.join(src, rel), { verbatimSymlinks: true });
  }
  assert.equal(existsSync(path.join(src, 'dist')), false);
  // prepack needs the build tools; the repository's own node_modules has them.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'));
  const packed = must(await sh('npm', ['pack', '--json', '--pack-destination', tmp], src), 'npm pack');
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, info[0]!.filename);
  packedFiles = info[0]!.files.map((f) => f.path);

  // A prefix whose lock pins the runtime dependencies as our lock does, and tarpush to the tarball.
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { dependencies: { [pkg.name]: `file:${tarball}` } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${tarball}`, dependencies: pkg.dependencies, bin: pkg.bin },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  }
  mkdirSync(prefix);
  writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'pack-test', private: true, dependencies: { [pkg.name]: `file:${tarball}` } }));
  writeFileSync(path.join(prefix, 'package-lock.json'), JSON.stringify({ name: 'pack-test', lockfileVersion: 3, requires: true, packages }));
  // The cache holds every tarball after `npm ci`; the registry is asked only for one it lacks.
  must(await sh('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], prefix), 'npm ci of the packed tarball');
  installedBin = path.join(prefix, 'node_modules', '.bin', 'tarpush');
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('npm pack ships the built CLI and library, the licence, and no tests or benchmarks', () => {
  for (const f of ['bin/tarpush.js', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'LICENSE', 'README.md', 'package.json']) {
    assert.ok(packedFiles.includes(f), `${f} missing from the package`);
  }
  const stray = packedFiles.filter((f) => /^(dist\/(test|bench)|test|bench|fixtures|src)\//.test(f));
  assert.deepEqual(stray, []);
});

test('the installed tarpush answers --help and --version', async () => {
  const help = must(await sh(installedBin, ['--help'], tmp, runEnv), 'tarpush --help');
  assert.match(help.stdout, /^Usage: tarpush <command>/);
  assert.match(help.stdout, /push\s+publish an archive/);
  const pushHelp = must(await sh(installedBin, ['push', '--help'], tmp, runEnv), 'tarpush push --help');
  assert.match(pushHelp.stdout, /--platform/);
  const version = must(await sh(installedBin, ['--version'], tmp, runEnv), 'tarpush --version');
  assert.equal(version.stdout.trim(), pkg.version);
});

test('the installed tarpush pushes a kaniko tarball and compressed docker archives into an OCI layout', async () => {
  const layout = path.join(tmp, 'layout');
  const expected = JSON.parse(readFileSync(path.join(repoRoot, 'fixtures', 'expected.json'), 'utf8')) as Record<string, { images: { configDigest: string }[] }>;
  // kaniko: gzip layers (node:zlib); xz, bzip2 and zstd archives: the decompressor packages.
  const pushes: [string, string][] = [['kaniko.tar', 'kaniko'], ['docker-archive.tar.xz', 'xz'], ['docker-archive.tar.bz2', 'bz2'], ['docker-archive.tar.zst', 'zst']];
  for (const [fixture, tag] of pushes) {
    must(await sh(installedBin, ['push', path.join(repoRoot, 'fixtures', fixture), `oci:${layout}:${tag}`], tmp, runEnv), `tarpush push ${fixture}`);
  }
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const names = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
  assert.deepEqual(names, pushes.map(([, tag]) => tag).sort());
  // An independent reader finds each image with the config the fixture was made with.
  for (const [fixture, tag] of pushes) {
    const inspected = JSON.parse((await skopeo(['inspect', '--raw', `oci:${layout}:${tag}`])).stdout) as { config: { digest: string } };
    assert.equal(inspected.config.digest, expected[fixture]!.images[0]!.configDigest, fixture);
  }
  const blobs = readdirSync(path.join(layout, 'blobs', 'sha256'));
  for (const m of index.manifests) assert.ok(blobs.includes(m.digest.slice('sha256:'.length)), `${m.digest} not in blobs/`);
});

test('the installed tarpush saves an oci-archive (tar writing)', async () => {
  const out = path.join(tmp, 'saved.tar');
  must(await sh(installedBin, ['save', path.join(repoRoot, 'fixtures', 'kaniko.tar'), out, '--format', 'oci'], tmp, runEnv), 'tarpush save');
  const inspected = JSON.parse((await skopeo(['inspect', '--raw', `oci-archive:${out}`])).stdout) as { config: { digest: string } };
  assert.match(inspected.config.digest, /^sha256:[0-9a-f]{64}$/);
});
