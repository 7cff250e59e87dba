/**
 * Which gzip level fits which link (issue 11, "Compression that fits the link"): a cold push
 * of the bench image's docker save (plain layers, so tarpush compresses every byte) at each
 * `--compression-level`, on each link profile, with skopeo's push of the same archive beside
 * it. Reports time and the bytes produced (layer sizes in the pushed manifest).
 *
 *   node dist/bench/compression-level.js [--runs 3] [--mb 1000] [--levels 1,4,6] [--skip-skopeo]
 *        [--image-dir DIR] [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cellBusy, cellMedian, cellMin, cellPeakRss, median, type Cell, type Sample } from './lib/cells.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { quoteCommand, runTimed } from './lib/child.js';
import { placeholders, recordTraffic, withEndpoint } from './lib/endpoint.js';
import { ensureImage, imageLine } from './lib/ensure-image.js';
import { imageDirFor, repoRoot, tarpushBin } from './lib/paths.js';
import { getManifest } from './lib/registry-http.js';
import { machineFactsWithTools, revision, sectionMarkdown, writeStandalone } from './lib/report.js';
import { benchLog, cacheEnv, errText, fromFinished, sample as sampleWith } from './lib/sampling.js';
import { PROFILES, parseProfile, profileName, type WanProfile } from './lib/wan-proxy.js';

const USAGE = `Usage: node dist/bench/compression-level.js [--runs 3] [--mb 1000] [--levels 1,4,6] [--skip-skopeo]
       [--image-dir DIR] [--profiles loopback,20ms/1gbit,50ms/200mbit] [--quick] [--out FILE]

Pushes the bench image's docker save at each gzip level on each link profile (and skopeo's
push of it), and prints time and bytes as a markdown section (--out FILE: also written there).
--quick: --mb 100 --runs 1, levels 1 and 6, loopback and 50ms/200mbit only.`;

const PUSH_TIMEOUT_MS = 10 * 60_000;
const log = benchLog('compression-level');
const sample = (c: Cell, label: string, fn: () => Promise<Sample>): Promise<Sample> => sampleWith(c, label, fn, log);
const MB = 1e6;

async function main(): Promise<void> {
  const args = benchArgs(
    {
      runs: 'string',
      mb: 'string',
      levels: 'string',
      'skip-skopeo': 'boolean',
      'image-dir': 'string',
      profiles: 'string',
      quick: 'boolean',
      out: 'string',
    },
    USAGE,
  );
  const quick = args.quick === true;
  const runs = positiveInt(args.runs, 'runs', quick ? 1 : 3);
  const mb = positiveInt(args.mb, 'mb', quick ? 100 : 1000);
  const levels = (typeof args.levels === 'string' ? args.levels : quick ? '1,6' : '1,4,6').split(',');
  const skipSkopeo = args['skip-skopeo'] === true;
  const imageDir = path.resolve(typeof args['image-dir'] === 'string' ? args['image-dir'] : imageDirFor(mb));
  // --quick: the two ends (CPU-bound loopback, the slowest link).
  const profiles: (WanProfile | undefined)[] =
    typeof args.profiles === 'string' ? args.profiles.split(',').map(parseProfile) : quick ? [PROFILES[0], PROFILES[2]] : [...PROFILES];
  const started = Date.now();
  const facts = await machineFactsWithTools();
  const image = await ensureImage(mb, imageDir, log);
  const rev = await revision();
  const archive = image.archives['docker-save'];

  /** Layer bytes of what each cell pushed (the same on every run of a level: the output is deterministic). */
  const layerBytes = new Map<Cell, Set<number>>();
  const rows: { profile: string; cell: Cell; label: string }[] = [];
  let command = '';
  let skopeoCommand = '';

  for (const profile of profiles) {
    const P = profileName(profile);
    const mine: Cell[] = [];
    const mk = (tool: string, scenario: string): Cell => {
      const c: Cell = { id: `${P}:${tool}:${scenario}`, profile: P, format: 'docker-save', tool, scenario, command: '', samples: [] };
      mine.push(c);
      layerBytes.set(c, new Set());
      return c;
    };
    const byLevel = new Map(levels.map((l) => [l, mk('tarpush', `--compression-level ${l}`)]));
    const sk = skipSkopeo ? undefined : mk('skopeo', 'default');

    const measure = async (c: Cell, label: string, repo: string, run: (host: string) => Promise<{ s: Sample; cmd: string }>): Promise<void> => {
      try {
        await withEndpoint(profile, (e) =>
          sample(c, label, async () => {
            const { s, cmd } = await run(e.host);
            recordTraffic(s, e.proxy);
            if (P === profileName(profiles[0])) {
              const shown = placeholders(cmd, [[repoRoot + path.sep, ''], [e.host, '127.0.0.1:PORT']]);
              if (c.tool === 'skopeo') skopeoCommand ||= shown;
              else command ||= shown;
            }
            if (s.ok) {
              const m = await getManifest(e.reg.url, repo, 'v1');
              const bytes = (m.layers ?? []).reduce((n, l) => n + l.size, 0);
              layerBytes.get(c)!.add(bytes);
            }
            return s;
          }),
        );
      } catch (err) {
        c.samples.push({ ok: false, seconds: 0, note: `registry/proxy: ${errText(err)}` });
      }
    };

    for (let run = 1; run <= runs; run++) {
      for (const [level, c] of byLevel) {
        await measure(c, `level ${level} run ${run}/${runs}`, 'bench/level', async (host) => {
          const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-bench-cache-'));
          try {
            const argv = [tarpushBin, 'push', archive.file, `${host}/bench/level:v1`, '--quiet', '--no-cache', '--compression-level', level];
            const r = await runTimed(process.execPath, argv, { rss: true, env: cacheEnv(cacheDir), timeoutMs: PUSH_TIMEOUT_MS });
            return { s: fromFinished(r), cmd: quoteCommand('node', argv) };
          } finally {
            await rm(cacheDir, { recursive: true, force: true });
          }
        });
      }
      if (sk) {
        await measure(sk, `skopeo run ${run}/${runs}`, 'bench/sk-level', async (host) => {
          const argv = ['copy', '--quiet', '--dest-tls-verify=false', archive.skopeoSource, `docker://${host}/bench/sk-level:v1`];
          return { s: fromFinished(await runTimed('skopeo', argv, { rss: true, timeoutMs: PUSH_TIMEOUT_MS })), cmd: quoteCommand('skopeo', argv) };
        });
      }
    }
    for (const c of mine) rows.push({ profile: P, cell: c, label: c.tool === 'skopeo' ? 'skopeo (its default)' : `tarpush ${c.scenario}` });
  }

  // ---- the table: per link, each level's time and bytes against level 1 (or the first level) and skopeo ----
  const head = ['link', 'pusher', 'median s', 'min s', '× first level', '× skopeo', 'CPU s', 'layers MB', 'bytes up MB', 'peak RSS MiB', 'runs', 'bg CPU %'];
  const lines = [head, head.map(() => '---')];
  const fmt = (n: number | undefined, d: number): string => (n === undefined ? '—' : n.toFixed(d));
  const notes: string[] = [];
  for (const { profile, cell: c, label } of rows) {
    const same = rows.filter((r) => r.profile === profile);
    const firstLevel = cellMedian(same.find((r) => r.cell.tool === 'tarpush')?.cell);
    const skopeo = cellMedian(same.find((r) => r.cell.tool === 'skopeo')?.cell);
    const m = cellMedian(c);
    const sizes = [...layerBytes.get(c)!];
    if (sizes.length > 1 && c.tool === 'tarpush') notes.push(`- ${profile} ${label}: layer bytes differ between runs (${sizes.join(', ')}): the output is not deterministic`);
    const cpu = c.samples.filter((s) => s.ok && s.cpuSeconds !== undefined).map((s) => s.cpuSeconds!);
    const up = c.samples.filter((s) => s.ok && s.bytesUp !== undefined).map((s) => s.bytesUp! / MB);
    const failed = c.samples.filter((s) => !s.ok);
    if (failed.length) notes.push(`- ${profile} ${label}: ${failed.length}/${c.samples.length} runs failed: ${failed[0]!.note ?? ''}`);
    lines.push([
      profile,
      label,
      fmt(m, 3),
      fmt(cellMin(c), 3),
      m !== undefined && firstLevel !== undefined && c.tool === 'tarpush' ? `${(m / firstLevel).toFixed(2)}×` : '—',
      m !== undefined && skopeo !== undefined ? `${(m / skopeo).toFixed(2)}×` : '—',
      fmt(cpu.length ? median(cpu) : undefined, 2),
      sizes.length ? fmt(Math.max(...sizes) / MB, 1) : '—',
      fmt(up.length ? median(up) : undefined, 1),
      fmt(cellPeakRss(c), 0),
      `${c.samples.filter((s) => s.ok).length}/${c.samples.length}`,
      fmt(cellBusy(c), 0),
    ]);
  }
  const table = lines.map((r) => `| ${r.join(' | ')} |`).join('\n');
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const section = sectionMarkdown({
    title: 'Compression level against the link',
    command: `node dist/bench/compression-level.js ${process.argv.slice(2).join(' ')}`.trim(),
    image: imageLine(image),
    settings: `--runs ${runs} --mb ${mb} --levels ${levels.join(',')}${quick ? ' --quick' : ''}${skipSkopeo ? ' --skip-skopeo' : ''}; profiles ${profiles.map(profileName).join(', ')}; tarpush ${rev ?? '(unknown revision)'}; bench ${minutes} min.`,
    body: `${table}${notes.length ? `\n\n${notes.join('\n')}` : ''}\n\n*CPU s* = user + system CPU seconds of the pusher (median run; GNU time), the number least moved by other load; *layers MB* = sum of the layer sizes in the pushed manifest (10^6 bytes); *bytes up MB* = what the WAN proxy carried towards the registry (median run; layers plus requests).`,
    remarks: ['every push is cold: a fresh registry (and proxy) and --no-cache, so every layer is compressed and uploaded.'],
    commands: [command, skopeoCommand].filter(Boolean),
  });
  process.stdout.write(`${section}\n`);
  if (typeof args.out === 'string') await writeStandalone(path.resolve(args.out), facts, section);
  log(`done in ${minutes} min`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench compression-level: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
