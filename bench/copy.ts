/**
 * Registry → registry copy (issue 9's closing measurement): `tarpush copy` against
 * `skopeo copy docker://… docker://…`, side by side, between two loopback registries, straight
 * and with each registry behind its own WAN proxy (the copier pulls over one and pushes over
 * the other, as a CI job promoting an image between two remote registries does).
 *
 *   node dist/bench/copy.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]
 *                           [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]
 *
 * The source registry is seeded once with the bench image's kaniko tarball; every sample
 * copies into a fresh destination registry (and fresh proxies), so nothing can be skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry } from '../test/support/registry.js';
import { cellMedian, type Cell, type Sample } from './lib/cells.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { quoteCommand, rssMethod, runChecked, runTimed } from './lib/child.js';
import { placeholders, withEndpoint, type Endpoint } from './lib/endpoint.js';
import { ensureImage, imageLine } from './lib/ensure-image.js';
import { imageDirFor, repoRoot, tarpushBin } from './lib/paths.js';
import { manifestDigest } from './lib/registry-http.js';
import { COLUMNS_NOTE, machineFactsWithTools, resultsTable, revision, sectionMarkdown, writeStandalone } from './lib/report.js';
import { benchLog, cacheEnv, errText, fromFinished, sample as sampleWith } from './lib/sampling.js';
import { PROFILES, parseProfile, profileName, startWanProxy, type WanProfile, type WanProxy } from './lib/wan-proxy.js';

const USAGE = `Usage: node dist/bench/copy.js [--runs 3] [--mb 1000] [--skip-skopeo] [--image-dir DIR]
       [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]

Copies the bench image between two loopback registries with tarpush copy and skopeo copy,
on each link profile, and prints a markdown section (--out FILE: also written there).
--quick: --mb 100 --runs 1, profiles loopback and 20ms/1gbit.`;

const COPY_TIMEOUT_MS = 10 * 60_000;
const RSS_LIMIT_MIB = 100;
const log = benchLog('copy');
const sample = (c: Cell, label: string, fn: () => Promise<Sample>): Promise<Sample> => sampleWith(c, label, fn, log);

/** Both proxies' counts, summed: the copier's whole conversation. */
function recordBoth(s: Sample, proxies: (WanProxy | undefined)[]): void {
  const present = proxies.filter((p): p is WanProxy => !!p);
  if (!present.length) return;
  const requests: Record<string, number> = {};
  for (const p of present) for (const [m, n] of Object.entries(p.stats.requests)) requests[m] = (requests[m] ?? 0) + n;
  s.requests = requests;
  s.connections = present.reduce((n, p) => n + p.stats.connections, 0);
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
  const profiles: (WanProfile | undefined)[] =
    typeof args.profiles === 'string' ? args.profiles.split(',').map(parseProfile) : quick ? PROFILES.slice(0, 2) : [...PROFILES];
  const started = Date.now();
  const facts = await machineFactsWithTools();
  const image = await ensureImage(mb, imageDir, log);
  const rev = await revision();
  const cells: Cell[] = [];
  const bodies: string[] = [];
  const commands: string[] = [];
  const remarks: string[] = [];

  const src = await startRegistry({ mode: 'anonymous' });
  try {
    const [srcHostname, srcPort] = src.host.split(':');
    const seedCache = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
    try {
      await runChecked(process.execPath, [tarpushBin, 'push', image.archives.kaniko.file, `${src.host}/bench/src:v1`, '--quiet', '--no-cache'], {
        env: cacheEnv(seedCache),
        timeoutMs: COPY_TIMEOUT_MS,
      });
    } finally {
      await rm(seedCache, { recursive: true, force: true });
    }
    const srcDigest = await manifestDigest(src.url, 'bench/src', 'v1');
    if (!srcDigest) throw new Error('seeding the source registry left no bench/src:v1');
    log(`seeded the source registry: bench/src:v1 = ${srcDigest}`);

    for (const profile of profiles) {
      const P = profileName(profile);
      const skopeoId = `${P}:copy-skopeo`;
      const tp: Cell = {
        id: `${P}:copy-tarpush`,
        profile: P,
        format: 'registry → registry',
        tool: 'tarpush',
        scenario: 'copy, cold destination',
        command: '',
        samples: [],
        rssLimitMiB: RSS_LIMIT_MIB,
        ...(skipSkopeo ? {} : { skopeoCellId: skopeoId, target: { kind: 'faster-than', cellId: skopeoId } as const }),
      };
      const nv: Cell = {
        id: `${P}:copy-tarpush-no-diff-ids`,
        profile: P,
        format: 'registry → registry',
        tool: 'tarpush',
        scenario: 'copy, --no-verify-diff-ids',
        command: '',
        samples: [],
        rssLimitMiB: RSS_LIMIT_MIB,
        ...(skipSkopeo ? {} : { skopeoCellId: skopeoId }),
      };
      const sk: Cell = { id: skopeoId, profile: P, format: 'registry → registry', tool: 'skopeo', scenario: 'copy, cold destination', command: '', samples: [] };
      const mine = skipSkopeo ? [tp, nv] : [tp, nv, sk];
      cells.push(...mine);

      /** One copy into a fresh destination, the source behind a fresh proxy of the same profile. */
      const once = async (c: Cell, label: string, run: (srcHost: string, dst: Endpoint) => Promise<{ s: Sample; cmd: string }>): Promise<void> => {
        let srcProxy: WanProxy | undefined;
        try {
          if (profile) srcProxy = await startWanProxy({ host: srcHostname!, port: Number(srcPort) }, profile);
          const srcHost = srcProxy?.host ?? src.host;
          await withEndpoint(profile, (dst) =>
            sample(c, label, async () => {
              const { s, cmd } = await run(srcHost, dst);
              c.command ||= placeholders(cmd, [[repoRoot + path.sep, ''], [srcHost, 'SRC'], [dst.host, 'DST']]);
              recordBoth(s, [srcProxy, dst.proxy]);
              if (s.ok) {
                const got = await manifestDigest(dst.reg.url, 'bench/dst', 'v1');
                if (!got) {
                  s.ok = false;
                  s.note = 'exit 0 but bench/dst:v1 is not in the destination';
                } else if (got !== srcDigest) s.note = `copied ${got.slice(0, 19)}…, source ${srcDigest.slice(0, 19)}… (digest not kept)`;
              }
              return s;
            }),
          );
        } catch (err) {
          c.samples.push({ ok: false, seconds: 0, note: `registry/proxy: ${errText(err)}` });
        } finally {
          await srcProxy?.stop();
        }
      };

      const tarpushCopy = (extra: string[]) => async (srcHost: string, dst: Endpoint) => {
        const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
        try {
          const argv = [tarpushBin, 'copy', `${srcHost}/bench/src:v1`, `${dst.host}/bench/dst:v1`, '--quiet', '--no-cache', ...extra];
          const r = await runTimed(process.execPath, argv, { rss: true, env: cacheEnv(cacheDir), timeoutMs: COPY_TIMEOUT_MS });
          return { s: fromFinished(r), cmd: quoteCommand('node', argv) };
        } finally {
          await rm(cacheDir, { recursive: true, force: true });
        }
      };
      for (let run = 1; run <= runs; run++) {
        await once(tp, `tarpush copy run ${run}/${runs}`, tarpushCopy([]));
        await once(nv, `tarpush copy --no-verify-diff-ids run ${run}/${runs}`, tarpushCopy(['--no-verify-diff-ids']));
        if (skipSkopeo) continue;
        await once(sk, `skopeo copy run ${run}/${runs}`, async (srcHost, dst) => {
          const argv = ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${srcHost}/bench/src:v1`, `docker://${dst.host}/bench/dst:v1`];
          return { s: fromFinished(await runTimed('skopeo', argv, { rss: true, timeoutMs: COPY_TIMEOUT_MS })), cmd: quoteCommand('skopeo', argv) };
        });
      }
      const t = cellMedian(tp);
      const k = cellMedian(sk);
      log(`[${P}] tarpush ${t?.toFixed(3) ?? '—'} s, skopeo ${k?.toFixed(3) ?? '—'} s`);
      bodies.push(`### ${P}${profile ? ` (each registry behind its own WAN proxy: ${profile.rttMs} ms RTT, ${profile.bitsPerSecond / 1e6} Mbit/s each way)` : ' (no proxy)'}\n\n${resultsTable(mine, undefined, cells)}`);
      if (profile === profiles[0]) commands.push(...mine.map((c) => `# ${c.tool} (${c.scenario})\n${c.command}`));
    }
  } finally {
    await src.stop();
  }

  remarks.push(
    `the source holds the kaniko tarball's image (schema 2 manifest, ${image.layers.length} gzip layers, pushed once by tarpush); each copy must leave bench/dst:v1 with the source's digest (differences are listed under the tables).`,
    'requests and conns are the sum over both proxies (pull side and push side).',
  );
  if (rssMethod === 'node-launcher') remarks.push('peak RSS read by dist/bench/lib/rss-launcher.js (no GNU time); skopeo RSS not measured');
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const section = sectionMarkdown({
    title: 'Copy between two registries',
    command: `node dist/bench/copy.js ${process.argv.slice(2).join(' ')}`.trim(),
    image: imageLine(image),
    settings: `--runs ${runs} --mb ${mb}${quick ? ' --quick' : ''}${skipSkopeo ? ' --skip-skopeo' : ''}; profiles ${profiles.map(profileName).join(', ')}; tarpush ${rev ?? '(unknown revision)'}; copy bench ${minutes} min.`,
    body: `${bodies.join('\n\n')}\n\n${COLUMNS_NOTE}`,
    remarks,
    commands,
  });
  process.stdout.write(`${section}\n`);
  if (typeof args.out === 'string') await writeStandalone(path.resolve(args.out), facts, section);
  log(`done in ${minutes} min`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench copy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
