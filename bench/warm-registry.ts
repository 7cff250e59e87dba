/**
 * Cold machine, warm registry: v1 of the bench image (its three /usr layers and a small
 * fourth) is in the registry, pushed by the same tool; v2 shares all but that small layer.
 * Each tool pushes v2's `docker save` (plain layers) with an EMPTY cache — what a CI runner
 * does after every release — and the bench reports the time, what was compressed and the
 * requests made.
 *
 *   node dist/bench/warm-registry.js [--mb 1000] [--runs 3] [--dir DIR] [--skip-skopeo]
 *
 * Timed pushes go straight to the registry; the requests and uploaded bytes are counted in a
 * separate, untimed push through the test harness's recording proxy (a proxy in this
 * process would take CPU from the push it measures).
 */
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryHandle } from '../test/support/registry.js';
import { startFaultProxy } from '../test/support/proxy.js';
import { writeArchive } from './lib/archive-writer.js';
import { readBenchImage, type BenchImage, type BlobFile } from './lib/bench-image.js';
import { median } from './lib/cells.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { lastLines, runChecked, runTimed } from './lib/child.js';
import { fileDigest } from './lib/file-digest.js';
import { dockerSaveManifestJson, dockerSaveRepositories, hexOf, imageConfig, v1LayerIds, v1LayerJson } from './lib/image-documents.js';
import { defaultImageDir, repoRoot, tarpushBin } from './lib/paths.js';
import { manifestDigest } from './lib/registry-http.js';

const USAGE = `Usage: node dist/bench/warm-registry.js [--mb 1000] [--runs 3] [--dir DIR] [--skip-skopeo]

v1 of a ~MB image in a fresh registry; v2 (all layers but one small one shared) pushed from a
docker save with an empty cache, by tarpush and by skopeo copy docker-archive:… docker://….`;

const log = (s: string): void => void process.stderr.write(`warm-registry: ${s}\n`);
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

interface Version {
  archive: string;
  plainBytes: number;
}

/** The bench image (make-image builds it, or reuses it). */
async function ensureImage(size: number, dir: string): Promise<BenchImage> {
  const r = await runChecked(process.execPath, [path.join(repoRoot, 'dist', 'bench', 'make-image.js'), '--mb', String(size), '--out', dir], { timeoutMs: 30 * 60_000 });
  process.stderr.write(r.stdout);
  const image = readBenchImage(dir);
  if (!image) throw new Error(`make-image finished but ${dir} holds no usable image.json`);
  return image;
}

/** A docker save (before Docker 25) of the bench image's layers plus one small layer saying `version`. */
async function dockerSave(image: BenchImage, work: string, version: string): Promise<Version> {
  const dir = path.join(work, version);
  await mkdir(path.join(dir, 'app'), { recursive: true });
  await writeFile(path.join(dir, 'app', 'version'), `${version}\n`);
  const smallTar = path.join(work, `${version}-layer.tar`);
  await runChecked('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', smallTar, 'app'], { timeoutMs: 60_000 });
  const small: BlobFile = { file: smallTar, ...(await fileDigest(smallTar)) };
  const tars = [...image.layers.map((l) => l.tar), small];
  const diffIds = tars.map((t) => t.digest);
  const configText = imageConfig([...image.layers.map((l) => l.dir), '/app'], diffIds);
  const configFile = path.join(work, `${version}-config.json`);
  await writeFile(configFile, configText);
  const config = await fileDigest(configFile);
  const ids = v1LayerIds(diffIds);
  const repoTag = `bench.example/bench/warm:${version}`;
  const archive = path.join(work, `${version}.tar`);
  await writeArchive(archive, {
    order: 'sorted',
    members: [
      { name: `${hexOf(config.digest)}.json`, file: configFile },
      ...ids.flatMap((id, i) => [
        { name: `${id}/VERSION`, text: '1.0' },
        { name: `${id}/json`, text: v1LayerJson(id, ids[i - 1]) },
        { name: `${id}/layer.tar`, file: tars[i]!.file },
      ]),
      { name: 'manifest.json', text: dockerSaveManifestJson(hexOf(config.digest), repoTag, ids) },
      { name: 'repositories', text: dockerSaveRepositories(repoTag, ids[ids.length - 1]!) },
    ],
  });
  return { archive, plainBytes: tars.reduce((n, t) => n + t.size, 0) };
}

interface Tool {
  name: string;
  /** Push `archive` to `dest` (host/repo:tag) with the cache (or skopeo HOME) in `home`. */
  push(archive: string, dest: string, home: string, json: boolean): { cmd: string; args: string[]; env: NodeJS.ProcessEnv };
}

const tarpushTool = (name: string, extra: string[]): Tool => ({
  name,
  push: (archive, dest, home, json) => ({
    cmd: process.execPath,
    args: [tarpushBin, 'push', archive, dest, json ? '--json' : '--quiet', ...extra],
    env: { ...process.env, TARPUSH_CACHE_DIR: home, XDG_CACHE_HOME: home },
  }),
});
const tarpush = tarpushTool('tarpush', []);
/** The same push trusting the registry's pairings unchecked: what the check of each reused layer costs. */
const tarpushUnchecked = tarpushTool('tarpush --no-verify-diff-ids', ['--no-verify-diff-ids']);
const isTarpush = (t: Tool): boolean => t !== skopeo;

/** skopeo run as root keeps its blob-info cache in /var/lib/containers/cache, shared by every run: it then runs as nobody. */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

const skopeo: Tool = {
  name: 'skopeo',
  // A non-root skopeo keeps its blob-info cache under $XDG_DATA_HOME (or HOME): a fresh one is its empty cache.
  push: (archive, dest, home) => {
    const argv = ['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${dest}`];
    return {
      cmd: asRoot ? 'setpriv' : 'skopeo',
      args: asRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'skopeo', ...argv] : argv,
      env: { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share'), XDG_CACHE_HOME: path.join(home, '.cache'), XDG_RUNTIME_DIR: home },
    };
  },
};

interface Measured {
  seconds: number;
  peakRssMiB?: number;
  compressedBytes?: number;
  compressedLayers?: number;
}

/** A temp directory; skopeo's (run as nobody when we are root) is given to nobody, and every one is readable by it. */
async function fresh(prefix: string, forSkopeo = false): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  if (asRoot) {
    await chmod(dir, 0o755);
    if (forSkopeo) await chown(dir, NOBODY, NOBODY);
  }
  return dir;
}

/** v1 by `tool` into a fresh registry (untimed), then v2 with an empty cache (timed); host is where the pushes go. */
async function warmPush(tool: Tool, v1: Version, v2: Version, reg: RegistryHandle, host: string, json: boolean): Promise<Measured> {
  const homes = [await fresh('tarpush-warm-home-', tool === skopeo), await fresh('tarpush-warm-home-', tool === skopeo)];
  try {
    // The same tag, as a release pipeline pushing :latest (a new version tag would name the last one with --cache-from).
    const first = tool.push(v1.archive, `${host}/bench/warm:latest`, homes[0]!, false);
    await runChecked(first.cmd, first.args, { env: first.env, timeoutMs: 30 * 60_000 });
    const v1Digest = await manifestDigest(reg.url, 'bench/warm', 'latest');
    const second = tool.push(v2.archive, `${host}/bench/warm:latest`, homes[1]!, json);
    const r = await runTimed(second.cmd, second.args, { env: second.env, rss: true, timeoutMs: 30 * 60_000 });
    if (r.code !== 0) throw new Error(`${tool.name} v2 push failed: ${lastLines(r.stderr || r.stdout, 3)}`);
    const v2Digest = await manifestDigest(reg.url, 'bench/warm', 'latest');
    if (!v2Digest || v2Digest === v1Digest) throw new Error(`${tool.name}: exit 0 but bench/warm:latest does not hold a new manifest`);
    const out: Measured = { seconds: r.seconds, ...(r.peakRssMiB !== undefined ? { peakRssMiB: r.peakRssMiB } : {}) };
    if (json) {
      const c = (JSON.parse(r.stdout) as { compressed?: { layers: number; bytes: number } }).compressed;
      if (c) Object.assign(out, { compressedBytes: c.bytes, compressedLayers: c.layers });
    }
    return out;
  } finally {
    await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
  }
}

async function withRegistry<T>(fn: (reg: RegistryHandle) => Promise<T>): Promise<T> {
  const reg = await startRegistry({ mode: 'anonymous' });
  try {
    return await fn(reg);
  } finally {
    await reg.stop();
  }
}

/** Requests and request-body bytes of the v2 push, through a recording proxy. */
async function counted(tool: Tool, v1: Version, v2: Version): Promise<{ requests: number; uploaded: number; byMethod: string; compressedBytes?: number }> {
  return withRegistry(async (reg) => {
    const proxy = await startFaultProxy({ url: reg.url });
    try {
      let mark = 0;
      const t: Tool = {
        name: tool.name,
        push: (archive, dest, home, json) => {
          mark = proxy.requests.length; // the v2 push is the last one made
          return tool.push(archive, dest, home, json);
        },
      };
      const m = await warmPush(t, v1, v2, reg, proxy.host, isTarpush(tool));
      const reqs = proxy.requests.slice(mark);
      const methods = new Map<string, number>();
      for (const q of reqs) methods.set(q.method, (methods.get(q.method) ?? 0) + 1);
      return {
        requests: reqs.length,
        uploaded: reqs.reduce((n, q) => n + q.bodyBytes, 0),
        byMethod: [...methods].map(([k, v]) => `${k} ${v}`).join(', '),
        ...(m.compressedBytes !== undefined ? { compressedBytes: m.compressedBytes } : {}),
      };
    } finally {
      await proxy.stop();
    }
  });
}

async function main(): Promise<void> {
  const args = benchArgs({ mb: 'string', runs: 'string', dir: 'string', 'skip-skopeo': 'boolean' }, USAGE);
  // Run from bench/run.ts: its --quick/--mb/--runs come as TARPUSH_BENCH_* when no flag is given.
  const quick = process.env.TARPUSH_BENCH_QUICK === '1';
  const size = positiveInt(args.mb ?? process.env.TARPUSH_BENCH_MB, '--mb', quick ? 100 : 1000);
  const runs = positiveInt(args.runs ?? process.env.TARPUSH_BENCH_RUNS, '--runs', quick ? 1 : 3);
  const image = await ensureImage(size, (args.dir as string | undefined) ?? defaultImageDir);
  const work = await fresh('tarpush-warm-');
  try {
    const v1 = await dockerSave(image, work, 'v1');
    const v2 = await dockerSave(image, work, 'v2');
    const changed = v2.plainBytes - image.layers.reduce((n, l) => n + l.tar.size, 0);
    log(`v2: ${mb(v2.plainBytes)} in plain layers, ${changed} bytes changed`);
    const tools = args['skip-skopeo'] ? [tarpush, tarpushUnchecked] : [tarpush, tarpushUnchecked, skopeo];
    const rows: string[] = [];
    const medians = new Map<string, number>();
    for (const tool of tools) {
      const samples: Measured[] = [];
      for (let i = 0; i < runs; i++) {
        const m = await withRegistry((reg) => warmPush(tool, v1, v2, reg, reg.host, isTarpush(tool)));
        log(`${tool.name} run ${i + 1}: ${m.seconds.toFixed(2)} s${m.peakRssMiB !== undefined ? `, peak RSS ${m.peakRssMiB.toFixed(0)} MiB` : ''}`);
        samples.push(m);
      }
      const c = await counted(tool, v1, v2);
      const t = median(samples.map((s) => s.seconds));
      medians.set(tool.name, t);
      const rss = samples.flatMap((s) => (s.peakRssMiB !== undefined ? [s.peakRssMiB] : []));
      const compressed = isTarpush(tool) ? `${mb(samples[0]!.compressedBytes ?? 0)} (${samples[0]!.compressedLayers ?? 0} layer${samples[0]!.compressedLayers === 1 ? '' : 's'})` : `all layers (${mb(v2.plainBytes)} plain)`;
      rows.push(`| ${tool.name} | ${t.toFixed(2)} s | ${rss.length ? `${Math.max(...rss).toFixed(0)} MiB` : '—'} | ${compressed} | ${mb(c.uploaded)} | ${c.requests} (${c.byMethod}) |`);
    }
    const ratio = medians.has('skopeo') ? ` — tarpush ${(medians.get('tarpush')! / medians.get('skopeo')!).toFixed(2)}× skopeo's time (goal ≤ 0.25×)` : '';
    process.stdout.write(
      [
        `### Cold machine, warm registry (--mb ${size}, median of ${runs})${ratio}`,
        '',
        `v1 pushed by the same tool; v2's docker save (${mb(v2.plainBytes)} of plain layers, ${changed} bytes changed) pushed with an empty cache. ${os.availableParallelism()} cores, distribution on loopback.`,
        '',
        '| tool | time | peak RSS | compressed | uploaded | requests |',
        '|---|---|---|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`warm-registry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
