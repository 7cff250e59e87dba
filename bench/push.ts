/**
 * tarpush's push benchmark (issue 11's targets), against real loopback registries, straight
 * and through the WAN proxy (bench/lib/wan-proxy.ts):
 *
 *   node dist/bench/push.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]
 *                           [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]
 *
 * Cold cells get a fresh registry (fresh storage, a fresh proxy) and a fresh, disabled
 * digest cache per run; warm cells re-push to one registry per profile that already holds
 * the image. Prints its markdown section on stdout (progress on stderr); --out also writes
 * it, with the machine facts, to FILE.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE_FORMATS, type ArchiveFormat } from './lib/bench-image.js';
import { cellMedian, type Cell, type Sample, type Target } from './lib/cells.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { lastLines, quoteCommand, rssMethod, runTimed } from './lib/child.js';
import { placeholders, recordTraffic, startEndpoint, withEndpoint, type Endpoint } from './lib/endpoint.js';
import { ensureImage, imageLine } from './lib/ensure-image.js';
import { curlPutArgs, floorUpload } from './lib/floor.js';
import { imageDirFor, repoRoot, tarpushBin } from './lib/paths.js';
import { listTags, manifestDigest } from './lib/registry-http.js';
import { COLUMNS_NOTE, machineFactsWithTools, resultsTable, revision, sectionMarkdown, writeStandalone } from './lib/report.js';
import { benchLog, cacheEnv, errText, fromFinished, sample as sampleWith } from './lib/sampling.js';
import { PROFILES, parseProfile, profileName, type WanProfile } from './lib/wan-proxy.js';

const USAGE = `Usage: node dist/bench/push.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]
       [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]

Times tarpush push (cold, --no-verify-diff-ids, warm re-push, 20 tags; --version) against a
curl floor and skopeo on the image from make-image (built first if missing), on each link
profile, and prints a markdown section (--out FILE: also written there).
--quick: --mb 100 --runs 1, no --no-verify-diff-ids cells, re-push and 20 tags for kaniko only.`;

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

const log = benchLog('push');
const sample = (c: Cell, label: string, fn: () => Promise<Sample>): Promise<Sample> => sampleWith(c, label, fn, log);

/** One sample of `c` against a registry (and proxy) of its own; one that fails to start fails the sample. */
async function sampleFresh(c: Cell, profile: WanProfile | undefined, label: string, fn: (e: Endpoint) => Promise<Sample>): Promise<void> {
  const before = c.samples.length;
  try {
    await withEndpoint(profile, (e) =>
      sample(c, label, async () => {
        const s = await fn(e);
        recordTraffic(s, e.proxy);
        return s;
      }),
    );
  } catch (err) {
    if (c.samples.length === before) {
      c.samples.push({ ok: false, seconds: 0, note: `registry: ${errText(err)}` });
      log(`[${c.profile}] ${label}: FAILED (${c.samples[before]!.note})`);
    }
  }
}

function pushArgs(archive: string, dest: string, extra: string[]): string[] {
  return [tarpushBin, 'push', archive, dest, '--quiet', ...extra];
}

/** After a push that exited 0: the tag must exist, with the expected digest when one is known. */
async function checkPushed(s: Sample, e: Endpoint, repo: string, tag: string, expected?: string): Promise<string | undefined> {
  if (!s.ok) return undefined;
  const digest = await manifestDigest(e.reg.url, repo, tag);
  if (!digest) {
    s.ok = false;
    s.note = `exit 0 but ${repo}:${tag} is not in the registry`;
  } else if (expected && digest !== expected) {
    s.note = `pushed ${digest.slice(0, 19)}…, expected ${expected.slice(0, 19)}… (manifest not reproduced)`;
  }
  return digest;
}

const shown = (cmd: string, e: Endpoint | undefined, cacheDir?: string): string =>
  placeholders(cmd, [
    [repoRoot + path.sep, ''],
    [e?.host, '127.0.0.1:PORT'],
    [e?.reg.host, '127.0.0.1:PORT'],
    [cacheDir, 'CACHE'],
  ]);

/** A tarpush command line for the report, with its cache environment spelled out. */
const tarpushCommand = (argv: string[], e: Endpoint, cacheDir: string): string =>
  `TARPUSH_CACHE_DIR=CACHE XDG_CACHE_HOME=CACHE ${shown(quoteCommand('node', argv), e, cacheDir)}`;

/**
 * Issue 11's goals, by link: kaniko ≤ 1.5× floor on loopback and ≤ 1.05× at 20 ms / 1 Gbit;
 * oci-archive ≤ 0.9× skopeo everywhere; docker save ≤ 0.8× skopeo on loopback and ≤ 0.95× at
 * 50 ms / 200 Mbit; re-push ≤ 0.2 s and 20 tags ≤ 0.3 s (loopback).
 */
function coldTarget(p: string, f: ArchiveFormat, skopeoId: string | undefined): Target | undefined {
  if (f === 'kaniko') return p === 'loopback' ? { kind: 'floor-ratio', max: 1.5 } : p === '20ms/1gbit' ? { kind: 'floor-ratio', max: 1.05 } : undefined;
  if (!skopeoId) return undefined;
  if (f === 'oci-archive') return { kind: 'ratio-to', cellId: skopeoId, max: 0.9 };
  if (p === 'loopback') return { kind: 'ratio-to', cellId: skopeoId, max: 0.8 };
  if (p === '50ms/200mbit') return { kind: 'ratio-to', cellId: skopeoId, max: 0.95 };
  return undefined;
}

async function main(): Promise<void> {
  const args = benchArgs(
    { runs: 'string', mb: 'string', 'skip-skopeo': 'boolean', 'image-dir': 'string', profiles: 'string', quick: 'boolean', out: 'string' },
    USAGE,
  );
  const quick = args.quick === true;
  const runs = positiveInt(args.runs, 'runs', quick ? 1 : 3);
  const mb = positiveInt(args.mb, 'mb', quick ? 100 : 1000);
  const skipSkopeo = args['skip-skopeo'] === true;
  const imageDir = path.resolve(typeof args['image-dir'] === 'string' ? args['image-dir'] : imageDirFor(mb));
  const profiles = typeof args.profiles === 'string' ? args.profiles.split(',').map(parseProfile) : [...PROFILES];
  const started = Date.now();

  const facts = await machineFactsWithTools();
  const image = await ensureImage(mb, imageDir, log);
  const rev = await revision();

  const archive = (f: ArchiveFormat) => image.archives[f];
  const gzBlobs = [image.config, ...image.layers.map((l) => l.gz)];
  const commands: string[] = [`node dist/bench/make-image.js --mb ${mb} --out ${imageDir}`];
  const remarks: string[] = [];
  const warmFormats = quick ? (['kaniko'] as ArchiveFormat[]) : [...ARCHIVE_FORMATS];
  const bodies: string[] = [];

  for (const profile of profiles) {
    const P = profileName(profile);
    const first = cells.length;
    const id = (x: string): string => `${P}:${x}`;

    // ---- cells, in table order ----
    const floor = cell({ id: id('floor'), profile: P, format: 'kaniko / oci-archive blobs', tool: 'curl (floor)', scenario: 'cold', command: '', reference: true, vsFloor: true });
    const cold = new Map<ArchiveFormat, Cell>();
    const skopeo = new Map<ArchiveFormat, Cell>();
    for (const f of ARCHIVE_FORMATS) {
      const skopeoId = skipSkopeo ? undefined : id(`cold-skopeo-${f}`);
      const target = coldTarget(P, f, skopeoId);
      cold.set(
        f,
        cell({
          id: id(`cold-tarpush-${f}`),
          profile: P,
          format: f,
          tool: 'tarpush',
          scenario: f === 'docker-save' ? 'cold, gzip on the way' : 'cold',
          command: '',
          ...(target ? { target } : {}),
          rssLimitMiB: RSS_LIMIT_MIB,
          vsFloor: true,
          ...(skopeoId ? { skopeoCellId: skopeoId } : {}),
        }),
      );
    }
    for (const f of skipSkopeo ? [] : ARCHIVE_FORMATS) {
      skopeo.set(f, cell({ id: id(`cold-skopeo-${f}`), profile: P, format: f, tool: 'skopeo', scenario: 'cold', command: '', vsFloor: true }));
    }
    // Already-gzipped archives again, with the diff_id check (decompression) switched off.
    const unverified = new Map<ArchiveFormat, Cell>();
    for (const f of quick ? [] : ARCHIVE_FORMATS.filter((x) => x !== 'docker-save')) {
      unverified.set(
        f,
        cell({
          id: id(`cold-tarpush-${f}-no-diff-ids`),
          profile: P,
          format: f,
          tool: 'tarpush',
          scenario: 'cold, --no-verify-diff-ids',
          command: '',
          ...(P === 'loopback' ? { target: { kind: 'floor-ratio', max: 1.15 } as Target } : {}),
          rssLimitMiB: RSS_LIMIT_MIB,
          vsFloor: true,
          ...(skipSkopeo ? {} : { skopeoCellId: id(`cold-skopeo-${f}`) }),
        }),
      );
    }
    const warm = new Map<ArchiveFormat, Cell>();
    const tags20 = new Map<ArchiveFormat, Cell>();
    for (const f of warmFormats) {
      warm.set(
        f,
        cell({
          id: id(`warm-${f}`),
          profile: P,
          format: f,
          tool: 'tarpush',
          scenario: f === 'docker-save' ? 're-push, new tag (digest cache)' : 're-push, new tag',
          command: '',
          ...(P === 'loopback' ? { target: { kind: 'seconds', max: 0.2 } as Target } : {}),
          rssLimitMiB: RSS_LIMIT_MIB,
        }),
      );
    }
    for (const f of warmFormats) {
      tags20.set(
        f,
        cell({
          id: id(`tags20-${f}`),
          profile: P,
          format: f,
          tool: 'tarpush',
          scenario: `re-push, ${TAG_COUNT} new tags`,
          command: '',
          ...(P === 'loopback' ? { target: { kind: 'seconds', max: 0.3 } as Target } : {}),
          rssLimitMiB: RSS_LIMIT_MIB,
        }),
      );
    }

    // ---- cold: a fresh registry per sample, formats interleaved so drift in load hits all alike ----
    const sampleTarpushCold = async (c: Cell, f: ArchiveFormat, extra: string[], label: string): Promise<void> => {
      const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
      try {
        await sampleFresh(c, profile, label, async (e) => {
          const argv = pushArgs(archive(f).file, `${e.host}/bench/${f}:v1`, ['--no-cache', ...extra]);
          c.command ||= tarpushCommand(argv, e, cacheDir);
          const s = fromFinished(await runTimed(process.execPath, argv, { rss: true, env: cacheEnv(cacheDir), timeoutMs: PUSH_TIMEOUT_MS }));
          await checkPushed(s, e, `bench/${f}`, 'v1', archive(f).expectedDigest);
          return s;
        });
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    };

    for (let run = 1; run <= runs; run++) {
      await sampleFresh(floor, profile, `floor run ${run}/${runs}`, async (e) => {
        floor.command ||= [
          '# POST /v2/bench/floor/blobs/uploads/ once per blob (fetch), then all at once:',
          ...gzBlobs.map((b) => shown(quoteCommand('curl', curlPutArgs(b.file, `<location>&digest=${b.digest}`)), e)),
          '# then PUT /v2/bench/floor/manifests/v1 (the schema 2 manifest of these blobs)',
        ].join('\n');
        const r = await floorUpload(e.url, 'bench/floor', 'v1', gzBlobs, {
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

      for (const [f, c] of skopeo) {
        await sampleFresh(c, profile, `skopeo ${f} cold run ${run}/${runs}`, async (e) => {
          const argv = ['copy', '--quiet', '--dest-tls-verify=false', archive(f).skopeoSource, `docker://${e.host}/bench/sk-${f}:v1`];
          c.command ||= shown(quoteCommand('skopeo', argv), e);
          const s = fromFinished(await runTimed('skopeo', argv, { rss: true, timeoutMs: PUSH_TIMEOUT_MS }));
          await checkPushed(s, e, `bench/sk-${f}`, 'v1');
          return s;
        });
      }
    }

    // ---- warm: one registry that already holds each image (and a primed digest cache) ----
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
    let endpoint: Endpoint | undefined;
    try {
      const e = (endpoint = await startEndpoint(profile));
      const env = cacheEnv(cacheDir);
      const primed = new Map<ArchiveFormat, string>();
      // Primed through the proxy: the digest cache knows the registry by the name pushes use.
      for (const f of warmFormats) {
        const argv = pushArgs(archive(f).file, `${e.host}/bench/${f}:v1`, []);
        const r = await runTimed(process.execPath, argv, { env, timeoutMs: PUSH_TIMEOUT_MS });
        const digest = r.code === 0 ? await manifestDigest(e.reg.url, `bench/${f}`, 'v1') : undefined;
        if (digest) primed.set(f, digest);
        else remarks.push(`[${P}] warm ${f}: priming push failed (${r.signal ?? `exit ${String(r.code)}`}: ${lastLines(r.stderr || r.stdout, 2)})`);
        log(`[${P}] primed ${f} in ${r.seconds.toFixed(2)} s: ${digest ?? 'FAILED'}`);
        if (P === 'loopback') commands.push(`# prime: ${tarpushCommand(argv, e, cacheDir)}`);
      }
      const timedPush = async (c: Cell, argv: string[], check: (s: Sample) => Promise<void>): Promise<Sample> => {
        c.command ||= tarpushCommand(argv, e, cacheDir);
        e.proxy?.reset();
        const s = fromFinished(await runTimed(process.execPath, argv, { rss: true, env, timeoutMs: PUSH_TIMEOUT_MS }));
        recordTraffic(s, e.proxy);
        await check(s);
        return s;
      };
      for (let run = 1; run <= runs; run++) {
        for (const [f, c] of warm) {
          const tag = `w${run}`;
          const argv = pushArgs(archive(f).file, `${e.host}/bench/${f}:${tag}`, []);
          await sample(c, `tarpush ${f} warm run ${run}/${runs}`, () =>
            timedPush(c, argv, async (s) => {
              const digest = await checkPushed(s, e, `bench/${f}`, tag);
              if (s.ok && primed.has(f) && digest !== primed.get(f)) s.note = `re-push gave ${digest?.slice(0, 19)}…, first push ${primed.get(f)!.slice(0, 19)}…`;
            }),
          );
        }
      }
      for (let run = 1; run <= runs; run++) {
        for (const [f, c] of tags20) {
          const tags = Array.from({ length: TAG_COUNT }, (_, i) => `r${run}-t${i + 1}`);
          const argv = pushArgs(archive(f).file, `${e.host}/bench/${f}:${tags[0]}`, tags.slice(1).flatMap((t) => ['-t', t]));
          await sample(c, `tarpush ${f} ${TAG_COUNT} tags run ${run}/${runs}`, () =>
            timedPush(c, argv, async (s) => {
              if (!s.ok) return;
              const present = new Set(await listTags(e.reg.url, `bench/${f}`));
              const missing = tags.filter((t) => !present.has(t));
              if (missing.length) {
                s.ok = false;
                s.note = `exit 0 but ${missing.length} of ${TAG_COUNT} tags missing (${missing.slice(0, 3).join(', ')}…)`;
              }
            }),
          );
        }
      }
    } catch (err) {
      // Only the registry or proxy can throw here (samples catch their own failures): keep what we have.
      remarks.push(`[${P}] warm cells stopped early: ${errText(err)}`);
    } finally {
      await endpoint?.stop();
      await rm(cacheDir, { recursive: true, force: true });
    }

    const mine = cells.slice(first);
    const floorMedian = cellMedian(floor);
    bodies.push(
      `### ${P}${profile ? ` (WAN proxy: ${profile.rttMs} ms RTT, ${profile.bitsPerSecond / 1e6} Mbit/s each way)` : ' (no proxy)'}\n\n` +
        `Floor median ${floorMedian?.toFixed(3) ?? '—'} s.\n\n${resultsTable(mine, floor.id, cells)}`,
    );
    // The commands are the same on every link but for the port: list the first profile's.
    if (profile === profiles[0]) commands.push(...mine.filter((c) => c.command).map((c) => `# ${c.tool} ${c.format} (${c.scenario})\n${c.command}`));
  }

  // ---- start-up: interleaved so both see the same machine ----
  const first = cells.length;
  const nodeBare = cell({ id: 'node-e', profile: 'loopback', format: '—', tool: "node -e ''", scenario: 'start-up', command: `node -e ''`, reference: true });
  const version = cell({
    id: 'version',
    profile: 'loopback',
    format: '—',
    tool: 'tarpush',
    scenario: '--version',
    command: 'node bin/tarpush.js --version',
    target: { kind: 'ratio-to', cellId: 'node-e', max: 2 },
  });
  for (let i = 1; i <= VERSION_RUNS; i++) {
    await sample(nodeBare, `node -e '' ${i}/${VERSION_RUNS}`, async () => fromFinished(await runTimed(process.execPath, ['-e', ''])));
    await sample(version, `tarpush --version ${i}/${VERSION_RUNS}`, async () => fromFinished(await runTimed(process.execPath, [tarpushBin, '--version'])));
  }
  bodies.push(`### start-up\n\n${resultsTable(cells.slice(first), undefined, cells)}`);

  if (rssMethod === 'node-launcher') remarks.push('peak RSS read by dist/bench/lib/rss-launcher.js (no GNU time); skopeo RSS not measured');
  remarks.push(
    'kaniko and oci-archive carry the same gzip blobs, so one floor serves both; docker-save is compared with skopeo, which gzips in parallel too.',
    'every push is checked afterwards: the tag must exist, and for kaniko / oci-archive its digest must be the one the archive implies (mismatches are listed under the tables).',
    "skopeo runs as installed (its blob-info cache is not cleared between runs; every cold run uses a new registry, so it can't skip an upload).",
    'WAN profiles: every client (curl, skopeo, tarpush) talks to a loopback TCP proxy in this process that adds the RTT (half each way, plus one RTT per new connection for the handshake) and shares one rate-limited link per direction among all connections; no slow start or loss is modelled. skopeo first tries HTTPS on a registry given with --dest-tls-verify=false: that probe is the extra connection it shows.',
  );
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const section = sectionMarkdown({
    title: 'Push',
    command: `node dist/bench/push.js ${process.argv.slice(2).join(' ')}`.trim(),
    image: imageLine(image),
    settings: `--runs ${runs} --mb ${mb}${quick ? ' --quick' : ''}${skipSkopeo ? ' --skip-skopeo' : ''}; profiles ${profiles.map(profileName).join(', ')}; tarpush ${rev ?? '(unknown revision)'}; push bench ${minutes} min; RSS via ${rssMethod}.`,
    body: `${bodies.join('\n\n')}\n\n${COLUMNS_NOTE}`,
    remarks,
    commands,
  });
  process.stdout.write(`${section}\n`);
  if (typeof args.out === 'string') await writeStandalone(path.resolve(args.out), facts, section);
  log(`done in ${minutes} min`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench push: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
