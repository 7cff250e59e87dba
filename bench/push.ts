/**
 * tarpush's push benchmark (the issue's "Performance" targets), against real loopback
 * registries:
 *
 *   node dist/bench/push.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]
 *
 * Cold cells get a fresh registry (fresh storage) and a fresh, disabled digest cache per run;
 * warm cells re-push to one registry that already holds the image. Prints a markdown table and
 * writes it, with machine facts and the exact commands, to bench/results.md.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryHandle } from '../test/support/registry.js';
import { ARCHIVE_FORMATS, readBenchImage, type ArchiveFormat, type BenchImage } from './lib/bench-image.js';
import { cellMedian, type Cell, type Sample } from './lib/cells.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { lastLines, quoteCommand, rssMethod, runChecked, runTimed, type Finished } from './lib/child.js';
import { backgroundBusyPercent } from './lib/cpu-load.js';
import { curlPutArgs, floorUpload } from './lib/floor.js';
import { defaultImageDir, repoRoot, resultsFile, tarpushBin } from './lib/paths.js';
import { listTags, manifestDigest } from './lib/registry-http.js';
import { machineFacts, resultsTable, writeResults } from './lib/report.js';

const USAGE = `Usage: node dist/bench/push.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]

Times tarpush push (cold, warm re-push, 20 tags, --version) against a curl floor and skopeo
on the image from make-image (built first if missing), and writes bench/results.md.`;

const PUSH_TIMEOUT_MS = 10 * 60_000;
const RSS_LIMIT_MIB = 100;
const TAG_COUNT = 20;
const VERSION_RUNS = 10;

const cells: Cell[] = [];
function cell(c: Omit<Cell, 'samples'>): Cell {
  const full: Cell = { ...c, samples: [] };
  cells.push(full);
  return full;
}

const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

/** Runs one sample of `c`, recording the machine's background load first and any failure as a failed sample. */
async function sample(c: Cell, label: string, fn: () => Promise<Sample>): Promise<Sample> {
  const busy = await backgroundBusyPercent();
  let s: Sample;
  try {
    s = await fn();
  } catch (err) {
    s = { ok: false, seconds: 0, note: err instanceof Error ? err.message : String(err) };
  }
  if (busy !== undefined) s.backgroundBusy = busy;
  c.samples.push(s);
  const rss = s.peakRssMiB !== undefined ? `, ${s.peakRssMiB.toFixed(0)} MiB` : '';
  log(`${label}: ${s.ok ? `${s.seconds.toFixed(3)} s${rss}` : `FAILED (${s.note ?? ''})`}${s.ok && s.note ? ` — ${s.note}` : ''}`);
  return s;
}

async function withRegistry<T>(fn: (reg: RegistryHandle) => Promise<T>): Promise<T> {
  const reg = await startRegistry({ mode: 'anonymous' });
  try {
    return await fn(reg);
  } finally {
    await reg.stop();
  }
}

/** One sample of `c` against a registry of its own (fresh storage); a registry that fails to start fails the sample. */
async function sampleInFreshRegistry(c: Cell, label: string, fn: (reg: RegistryHandle) => Promise<Sample>): Promise<void> {
  const before = c.samples.length;
  try {
    await withRegistry((reg) => sample(c, label, () => fn(reg)));
  } catch (err) {
    if (c.samples.length === before) {
      c.samples.push({ ok: false, seconds: 0, note: `registry: ${err instanceof Error ? err.message : String(err)}` });
      log(`${label}: FAILED (${c.samples[before]!.note})`);
    }
  }
}

/** A fresh digest-cache home for tarpush (whichever variable it reads). */
function cacheEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, TARPUSH_CACHE_DIR: dir, XDG_CACHE_HOME: dir };
}

function pushArgs(archive: string, dest: string, extra: string[]): string[] {
  return [tarpushBin, 'push', archive, dest, '--quiet', ...extra];
}

/** Turns a finished command into a sample: failed unless exit 0. */
function fromFinished(r: Finished): Sample {
  if (r.code !== 0) {
    return { ok: false, seconds: r.seconds, note: `${r.signal ?? `exit ${String(r.code)}`}: ${lastLines(r.stderr || r.stdout, 2)}` };
  }
  const s: Sample = { ok: true, seconds: r.seconds };
  if (r.peakRssMiB !== undefined) s.peakRssMiB = r.peakRssMiB;
  return s;
}

/** After a push that exited 0: the tag must exist, with the expected digest when one is known. */
async function checkPushed(s: Sample, reg: RegistryHandle, repo: string, tag: string, expected?: string): Promise<string | undefined> {
  if (!s.ok) return undefined;
  const digest = await manifestDigest(reg.url, repo, tag);
  if (!digest) {
    s.ok = false;
    s.note = `exit 0 but ${repo}:${tag} is not in the registry`;
  } else if (expected && digest !== expected) {
    s.note = `pushed ${digest.slice(0, 19)}…, expected ${expected.slice(0, 19)}… (manifest not reproduced)`;
  }
  return digest;
}

/** A tarpush command line for the report, with its cache environment spelled out. */
const tarpushCommand = (argv: string[], reg: RegistryHandle, cacheDir: string): string =>
  `TARPUSH_CACHE_DIR=CACHE XDG_CACHE_HOME=CACHE ${placeholder(quoteCommand('node', argv), reg, cacheDir)}`;

const placeholder = (cmd: string, reg: RegistryHandle | undefined, cacheDir?: string): string => {
  let out = cmd.split(repoRoot + path.sep).join('');
  if (reg) out = out.split(reg.host).join('127.0.0.1:PORT');
  if (cacheDir) out = out.split(cacheDir).join('CACHE');
  return out;
};

async function ensureImage(mb: number, dir: string): Promise<BenchImage> {
  log(`making (or reusing) the bench image in ${dir}`);
  const makeImage = path.join(repoRoot, 'dist', 'bench', 'make-image.js');
  const r = await runChecked(process.execPath, [makeImage, '--mb', String(mb), '--out', dir], { timeoutMs: 30 * 60_000 });
  process.stderr.write(r.stdout);
  const image = readBenchImage(dir);
  if (!image) throw new Error(`make-image finished but ${dir} holds no usable image.json`);
  return image;
}

async function toolVersion(cmd: string, args: string[]): Promise<string | undefined> {
  const r = await runTimed(cmd, args, { timeoutMs: 10_000 }).catch(() => undefined);
  return r && r.code === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

async function main(): Promise<void> {
  const args = benchArgs({ runs: 'string', mb: 'string', 'skip-skopeo': 'boolean', 'image-dir': 'string' }, USAGE);
  const runs = positiveInt(args.runs, 'runs', 3);
  const mb = positiveInt(args.mb, 'mb', 1000);
  const skipSkopeo = args['skip-skopeo'] === true;
  const imageDir = path.resolve(typeof args['image-dir'] === 'string' ? args['image-dir'] : defaultImageDir);
  const started = Date.now();

  const facts = machineFacts();
  const image = await ensureImage(mb, imageDir);
  facts.skopeo = await toolVersion('skopeo', ['--version']);
  const registryVersion = await toolVersion('docker-registry', ['--version']);
  if (registryVersion) facts.registry = registryVersion;
  const revision = await toolVersion('git', ['-C', repoRoot, 'describe', '--always', '--dirty']);

  const archive = (f: ArchiveFormat) => image.archives[f];
  const gzBlobs = [image.config, ...image.layers.map((l) => l.gz)];
  const commands: string[] = [`node dist/bench/make-image.js --mb ${mb} --out ${imageDir}`];
  const remarks: string[] = [];

  // ---- cells, in table order ----
  const floor = cell({
    id: 'floor',
    format: 'kaniko / oci-archive blobs',
    tool: 'curl (floor)',
    scenario: 'cold',
    command: '',
    reference: true,
    vsFloor: true,
  });
  const cold = new Map<ArchiveFormat, Cell>();
  const skopeo = new Map<ArchiveFormat, Cell>();
  for (const f of ARCHIVE_FORMATS) {
    cold.set(
      f,
      cell({
        id: `cold-tarpush-${f}`,
        format: f,
        tool: 'tarpush',
        scenario: f === 'docker-save' ? 'cold, gzip on the way' : 'cold',
        command: '',
        target: f === 'docker-save' ? (skipSkopeo ? undefined : { kind: 'faster-than', cellId: 'cold-skopeo-docker-save' }) : { kind: 'floor-ratio', max: 1.15 },
        rssLimitMiB: RSS_LIMIT_MIB,
        vsFloor: true,
      }),
    );
    if (!skipSkopeo) {
      skopeo.set(f, cell({ id: `cold-skopeo-${f}`, format: f, tool: 'skopeo', scenario: 'cold', command: '', vsFloor: true }));
    }
  }
  // Already-gzipped archives again, with the diff_id check (decompression) switched off.
  const unverified = new Map<ArchiveFormat, Cell>();
  for (const f of ARCHIVE_FORMATS.filter((x) => x !== 'docker-save')) {
    unverified.set(
      f,
      cell({
        id: `cold-tarpush-${f}-no-diff-ids`,
        format: f,
        tool: 'tarpush',
        scenario: 'cold, --no-verify-diff-ids',
        command: '',
        target: { kind: 'floor-ratio', max: 1.15 },
        rssLimitMiB: RSS_LIMIT_MIB,
        vsFloor: true,
      }),
    );
  }
  const warm = new Map<ArchiveFormat, Cell>();
  const tags20 = new Map<ArchiveFormat, Cell>();
  for (const f of ARCHIVE_FORMATS) {
    warm.set(
      f,
      cell({
        id: `warm-${f}`,
        format: f,
        tool: 'tarpush',
        scenario: f === 'docker-save' ? 're-push, new tag (digest cache)' : 're-push, new tag',
        command: '',
        target: { kind: 'seconds', max: 0.2 },
        rssLimitMiB: RSS_LIMIT_MIB,
      }),
    );
  }
  for (const f of ARCHIVE_FORMATS) {
    tags20.set(
      f,
      cell({
        id: `tags20-${f}`,
        format: f,
        tool: 'tarpush',
        scenario: `re-push, ${TAG_COUNT} new tags`,
        command: '',
        target: { kind: 'seconds', max: 0.3 },
        rssLimitMiB: RSS_LIMIT_MIB,
      }),
    );
  }
  const nodeBare = cell({ id: 'node-e', format: '—', tool: "node -e ''", scenario: 'start-up', command: `node -e ''`, reference: true });
  const version = cell({
    id: 'version',
    format: '—',
    tool: 'tarpush',
    scenario: '--version',
    command: 'node bin/tarpush.js --version',
    target: { kind: 'ratio-to', cellId: 'node-e', max: 2 },
  });

  // ---- cold: a fresh registry per sample, formats interleaved so drift in load hits all alike ----
  /** One cold tarpush sample: a fresh registry and a fresh, disabled digest cache. */
  const sampleTarpushCold = async (c: Cell, f: ArchiveFormat, extra: string[], label: string): Promise<void> => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
    try {
      await sampleInFreshRegistry(c, label, async (reg) => {
        const argv = pushArgs(archive(f).file, `${reg.host}/bench/${f}:v1`, ['--no-cache', ...extra]);
        c.command ||= tarpushCommand(argv, reg, cacheDir);
        const s = fromFinished(await runTimed(process.execPath, argv, { rss: true, env: cacheEnv(cacheDir), timeoutMs: PUSH_TIMEOUT_MS }));
        await checkPushed(s, reg, `bench/${f}`, 'v1', archive(f).expectedDigest);
        return s;
      });
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  };

  for (let run = 1; run <= runs; run++) {
    await sampleInFreshRegistry(floor, `floor run ${run}/${runs}`, async (reg) => {
      floor.command ||= [
        '# POST /v2/bench/floor/blobs/uploads/ once per blob (fetch), then all at once:',
        ...gzBlobs.map((b) => placeholder(quoteCommand('curl', curlPutArgs(b.file, `<location>&digest=${b.digest}`)), reg)),
        '# then PUT /v2/bench/floor/manifests/v1 (the schema 2 manifest of these blobs)',
      ].join('\n');
      const r = await floorUpload(reg.url, 'bench/floor', 'v1', gzBlobs, {
        body: await readFile(image.dockerManifest.file, 'utf8'),
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      });
      const s: Sample = { ok: true, seconds: r.seconds };
      if (r.digest !== image.dockerManifest.digest) s.note = `floor manifest digest ${r.digest} unexpected`;
      return s;
    });

    for (const f of ARCHIVE_FORMATS) await sampleTarpushCold(cold.get(f)!, f, [], `tarpush ${f} cold run ${run}/${runs}`);
    for (const [f, c] of unverified) {
      await sampleTarpushCold(c, f, ['--no-verify-diff-ids'], `tarpush ${f} cold --no-verify-diff-ids run ${run}/${runs}`);
    }

    for (const f of skipSkopeo ? [] : ARCHIVE_FORMATS) {
      const c = skopeo.get(f)!;
      await sampleInFreshRegistry(c, `skopeo ${f} cold run ${run}/${runs}`, async (reg) => {
        const argv = ['copy', '--quiet', '--dest-tls-verify=false', archive(f).skopeoSource, `docker://${reg.host}/bench/sk-${f}:v1`];
        c.command ||= placeholder(quoteCommand('skopeo', argv), reg);
        const s = fromFinished(await runTimed('skopeo', argv, { rss: true, timeoutMs: PUSH_TIMEOUT_MS }));
        await checkPushed(s, reg, `bench/sk-${f}`, 'v1');
        return s;
      });
    }
  }

  // ---- warm: one registry that already holds each image (and a primed digest cache) ----
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
  try {
    await withRegistry(async (reg) => {
      const env = cacheEnv(cacheDir);
      const primed = new Map<ArchiveFormat, string>();
      for (const f of ARCHIVE_FORMATS) {
        const argv = pushArgs(archive(f).file, `${reg.host}/bench/${f}:v1`, []);
        const r = await runTimed(process.execPath, argv, { env, timeoutMs: PUSH_TIMEOUT_MS });
        const digest = r.code === 0 ? await manifestDigest(reg.url, `bench/${f}`, 'v1') : undefined;
        if (digest) primed.set(f, digest);
        else remarks.push(`warm ${f}: priming push failed (${r.signal ?? `exit ${String(r.code)}`}: ${lastLines(r.stderr || r.stdout, 2)})`);
        log(`primed ${f} in ${r.seconds.toFixed(2)} s: ${digest ?? 'FAILED'}`);
        commands.push(`# prime: ${tarpushCommand(argv, reg, cacheDir)}`);
      }
      for (let run = 1; run <= runs; run++) {
        for (const f of ARCHIVE_FORMATS) {
          const c = warm.get(f)!;
          const tag = `w${run}`;
          const argv = pushArgs(archive(f).file, `${reg.host}/bench/${f}:${tag}`, []);
          c.command ||= tarpushCommand(argv, reg, cacheDir);
          await sample(c, `tarpush ${f} warm run ${run}/${runs}`, async () => {
            const s = fromFinished(await runTimed(process.execPath, argv, { rss: true, env, timeoutMs: PUSH_TIMEOUT_MS }));
            const digest = await checkPushed(s, reg, `bench/${f}`, tag);
            if (s.ok && primed.has(f) && digest !== primed.get(f)) s.note = `re-push gave ${digest?.slice(0, 19)}…, first push ${primed.get(f)!.slice(0, 19)}…`;
            return s;
          });
        }
      }
      for (let run = 1; run <= runs; run++) {
        for (const f of ARCHIVE_FORMATS) {
          const c = tags20.get(f)!;
          const tags = Array.from({ length: TAG_COUNT }, (_, i) => `r${run}-t${i + 1}`);
          const argv = pushArgs(archive(f).file, `${reg.host}/bench/${f}:${tags[0]}`, tags.slice(1).flatMap((t) => ['-t', t]));
          c.command ||= tarpushCommand(argv, reg, cacheDir);
          await sample(c, `tarpush ${f} ${TAG_COUNT} tags run ${run}/${runs}`, async () => {
            const s = fromFinished(await runTimed(process.execPath, argv, { rss: true, env, timeoutMs: PUSH_TIMEOUT_MS }));
            if (s.ok) {
              const present = new Set(await listTags(reg.url, `bench/${f}`));
              const missing = tags.filter((t) => !present.has(t));
              if (missing.length) {
                s.ok = false;
                s.note = `exit 0 but ${missing.length} of ${TAG_COUNT} tags missing (${missing.slice(0, 3).join(', ')}…)`;
              }
            }
            return s;
          });
        }
      }
    });
  } catch (err) {
    // Only the registry can throw here (samples catch their own failures): keep what we have.
    remarks.push(`warm cells stopped early: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }

  // ---- start-up: interleaved so both see the same machine ----
  for (let i = 1; i <= VERSION_RUNS; i++) {
    await sample(nodeBare, `node -e '' ${i}/${VERSION_RUNS}`, async () => fromFinished(await runTimed(process.execPath, ['-e', ''])));
    await sample(version, `tarpush --version ${i}/${VERSION_RUNS}`, async () => {
      const r = await runTimed(process.execPath, [tarpushBin, '--version']);
      return fromFinished(r);
    });
  }

  facts.loadAtEnd = os.loadavg();
  commands.push(...cells.filter((c) => c.command).map((c) => `# ${c.tool} ${c.format} (${c.scenario})\n${c.command}`));
  if (rssMethod === 'node-launcher') remarks.push('peak RSS read by dist/bench/lib/rss-launcher.js (no GNU time); skopeo RSS not measured');
  const floorMedian = cellMedian(floor);
  remarks.push(
    'kaniko and oci-archive carry the same gzip blobs, so one floor serves both; docker-save is compared with skopeo, which gzips in parallel too.',
    'every push is checked afterwards: the tag must exist, and for kaniko / oci-archive its digest must be the one the archive implies (mismatches are listed under the table).',
    "skopeo runs as installed (its blob-info cache is not cleared between runs; every cold run uses a new registry, so it can't skip an upload).",
  );
  const l = image.layers;
  const imageLine =
    `${(image.uncompressedBytes / 2 ** 20).toFixed(0)} MiB uncompressed, ${(image.gzipBytes / 2 ** 20).toFixed(0)} MiB gzipped (gzip -6), ` +
    `3 layers: ${l.map((x, i) => `${x.dir}${image.stamp.sources[i]?.whole ? '' : ' (part)'} ${(x.tar.size / 2 ** 20).toFixed(0)}→${(x.gz.size / 2 ** 20).toFixed(0)} MiB`).join(', ')}; ` +
    `archives in ${image.dir}.`;
  const table = resultsTable(cells, floor.id);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  await writeResults(resultsFile, {
    facts,
    image: imageLine,
    settings: `--runs ${runs} --mb ${mb}${skipSkopeo ? ' --skip-skopeo' : ''}; tarpush ${revision ?? '(unknown revision)'}; whole bench ${minutes} min; floor median ${floorMedian?.toFixed(3) ?? '—'} s; RSS via ${rssMethod}.`,
    table,
    commands,
    remarks,
  });
  process.stdout.write(`\n${table}\n\nwritten to ${resultsFile} (bench took ${minutes} min)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
