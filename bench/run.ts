/**
 * `npm run bench`: every benchmark case in CASES, one after another, into one results file.
 *
 *   node dist/bench/run.js [--quick] [--runs N] [--mb N] [--skip-skopeo] [--only a,b] [--keep-image] [--out FILE]
 *
 * A case is a script in dist/bench/ that prints its markdown section on stdout (progress on
 * stderr) and exits 0. Cases marked `ownFlags` take the runner's --quick/--runs/--mb/
 * --skip-skopeo as flags; every case also gets them as TARPUSH_BENCH_QUICK=1,
 * TARPUSH_BENCH_RUNS, TARPUSH_BENCH_MB and TARPUSH_BENCH_SKIP_SKOPEO=1 in its environment, so a
 * script with its own flags still follows the run. `optional` cases are skipped (and said so)
 * while their script does not exist yet. A failing case is reported in the file and the
 * runner carries on; it exits 1 if any case failed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { imageDirFor, repoRoot } from './lib/paths.js';
import { machineFactsWithTools, resultsMarkdown } from './lib/report.js';

interface Case {
  name: string;
  /** File in dist/bench/. */
  script: string;
  /** Takes --quick, --runs, --mb, --skip-skopeo (and shares the image make-image builds for --mb). */
  ownFlags: boolean;
  /** Another helper's script that may not exist yet: skipped until it does. */
  optional?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'push', script: 'push.js', ownFlags: true },
  { name: 'copy', script: 'copy.js', ownFlags: true },
  { name: 'compression-level', script: 'compression-level.js', ownFlags: true },
  { name: 'warm-registry', script: 'warm-registry.js', ownFlags: false, optional: true },
  { name: 'memory', script: 'memory.js', ownFlags: false, optional: true },
];

const USAGE = `Usage: node dist/bench/run.js [--quick] [--runs N] [--mb N] [--skip-skopeo] [--only a,b] [--keep-image] [--out FILE]

Runs every benchmark (${CASES.map((c) => c.name).join(', ')}) and writes one markdown file:
bench/results.md (with --quick: ${path.join(os.tmpdir(), 'tarpush-bench-results-quick.md')}).
--quick: a 100 MB image, 1 run, fewer cells (under 5 minutes on an idle 2-core machine).
The generated image is deleted at the end unless --keep-image.`;

const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

function runCase(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), seconds: Number(process.hrtime.bigint() - started) / 1e9 }),
    );
  });
}

async function main(): Promise<void> {
  const args = benchArgs(
    { quick: 'boolean', runs: 'string', mb: 'string', 'skip-skopeo': 'boolean', only: 'string', 'keep-image': 'boolean', out: 'string' },
    USAGE,
  );
  const quick = args.quick === true;
  const runs = positiveInt(args.runs, 'runs', quick ? 1 : 3);
  const mb = positiveInt(args.mb, 'mb', quick ? 100 : 1000);
  const skipSkopeo = args['skip-skopeo'] === true;
  const only = typeof args.only === 'string' ? new Set(args.only.split(',')) : undefined;
  if (only) for (const n of only) if (!CASES.some((c) => c.name === n)) throw new Error(`--only: no case ${JSON.stringify(n)} (cases: ${CASES.map((c) => c.name).join(', ')})`);
  const out = path.resolve(typeof args.out === 'string' ? args.out : quick ? path.join(os.tmpdir(), 'tarpush-bench-results-quick.md') : path.join(repoRoot, 'bench', 'results.md'));
  const started = Date.now();
  const facts = await machineFactsWithTools();

  const flags = [...(quick ? ['--quick'] : []), '--runs', String(runs), '--mb', String(mb), ...(skipSkopeo ? ['--skip-skopeo'] : [])];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TARPUSH_BENCH_RUNS: String(runs),
    TARPUSH_BENCH_MB: String(mb),
    ...(quick ? { TARPUSH_BENCH_QUICK: '1' } : {}),
    ...(skipSkopeo ? { TARPUSH_BENCH_SKIP_SKOPEO: '1' } : {}),
  };
  const sections: string[] = [];
  const summary: string[] = [];
  let failed = 0;
  for (const c of CASES) {
    if (only && !only.has(c.name)) continue;
    const file = path.join(repoRoot, 'dist', 'bench', c.script);
    if (!existsSync(file)) {
      if (!c.optional) throw new Error(`${file} is missing: run npm run build first`);
      log(`${c.name}: skipped (${path.join('bench', c.script.replace(/\.js$/, '.ts'))} does not exist yet)`);
      summary.push(`- ${c.name}: skipped (no bench/${c.script.replace(/\.js$/, '.ts')} yet)`);
      continue;
    }
    log(`${c.name}: node dist/bench/${c.script} ${c.ownFlags ? flags.join(' ') : ''}`);
    const r = await runCase(file, c.ownFlags ? flags : [], env);
    const took = `${(r.seconds / 60).toFixed(1)} min`;
    if (r.code === 0) {
      sections.push(r.stdout.trimEnd());
      summary.push(`- ${c.name}: ${took}`);
    } else {
      failed++;
      sections.push(`## ${c.name} — FAILED (exit ${String(r.code)} after ${took}; its output so far follows)\n\n${r.stdout.trimEnd()}`);
      summary.push(`- ${c.name}: FAILED (exit ${String(r.code)}) after ${took}`);
    }
    log(`${c.name}: ${r.code === 0 ? 'done' : `FAILED (exit ${String(r.code)})`} in ${took}`);
  }
  if (!args['keep-image']) {
    await rm(imageDirFor(mb), { recursive: true, force: true });
    log(`deleted ${imageDirFor(mb)} (--keep-image keeps it for the next run)`);
  }
  facts.loadAtEnd = os.loadavg();
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const intro = [
    `Generated by \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bench/run.ts; see bench/README.md) in ${minutes} min:`,
    '',
    ...summary,
  ].join('\n');
  await writeFile(out, resultsMarkdown(facts, sections, intro));
  log(`wrote ${out} (${minutes} min${failed ? `, ${failed} case(s) failed` : ''})`);
  process.exit(failed ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
