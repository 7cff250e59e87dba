/**
 * tarpush's memory benchmark (issue 11, "Memory flat in image size"): peak RSS of a cold push
 * of each archive format at several image sizes, each to a fresh loopback registry.
 *
 *   node dist/bench/memory.js [--sizes 100,1000,4000] [--formats kaniko,oci-archive,docker-save]
 *                             [--runs 1] [--limit 100] [--keep-images]
 *
 * Images come from make-image (cached like the push bench's: 1000 MB in $TMPDIR/tarpush-bench,
 * other sizes in $TMPDIR/tarpush-bench-<MB>). Images over 1000 MB take several GB of disk:
 * they are deleted once measured unless --keep-images. Exits 1 when a push fails; a peak over
 * --limit MiB is marked "(over)" in the table (a measurement, not a failure of the run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startRegistry } from '../test/support/registry.js';
import { ARCHIVE_FORMATS, readBenchImage, type ArchiveFormat, type BenchImage } from './lib/bench-image.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { lastLines, rssMethod, runChecked, runTimed } from './lib/child.js';
import { defaultImageDir, repoRoot, tarpushBin } from './lib/paths.js';
import { manifestDigest } from './lib/registry-http.js';

const USAGE = `Usage: node dist/bench/memory.js [--sizes 100,1000,4000] [--formats kaniko,oci-archive,docker-save] [--runs 1] [--limit 100] [--keep-images]

Peak RSS of cold tarpush pushes (fresh loopback registry, --no-cache) per image size and format.
Images over 1000 MB are deleted after they are measured unless --keep-images.`;

const DEFAULT_SIZES = [100, 1000];
const DEFAULT_MB = 1000;
const KEEP_UP_TO_MB = 1000;
const PUSH_TIMEOUT_MS = 20 * 60_000;

export interface MemoryRow {
  mb: number;
  format: ArchiveFormat;
  /** One per run, MiB; undefined for a run whose RSS could not be read. */
  peaks: (number | undefined)[];
  seconds: number[];
  failure?: string;
}

const log = (line: string): void => {
  process.stderr.write(`memory: ${line}\n`);
};

/** Where make-image keeps the image of `mb` MB: the push bench's own directory for its default size. */
export const imageDirFor = (mb: number): string => (mb === DEFAULT_MB ? defaultImageDir : `${defaultImageDir}-${mb}`);

async function ensureImage(mb: number): Promise<BenchImage> {
  const dir = imageDirFor(mb);
  log(`making (or reusing) the ${mb} MB image in ${dir}`);
  const makeImage = path.join(repoRoot, 'dist', 'bench', 'make-image.js');
  await runChecked(process.execPath, [makeImage, '--mb', String(mb), '--out', dir], { timeoutMs: 60 * 60_000 });
  const image = readBenchImage(dir);
  if (!image) throw new Error(`make-image finished but ${dir} holds no usable image.json`);
  return image;
}

/** One cold push: fresh registry, fresh disabled cache; its peak RSS in MiB. */
async function coldPush(image: BenchImage, format: ArchiveFormat): Promise<{ peak?: number; seconds: number }> {
  const reg = await startRegistry({ mode: 'anonymous' });
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-mem-cache-'));
  try {
    const argv = [tarpushBin, 'push', image.archives[format].file, `${reg.host}/mem/${format}:v1`, '--quiet', '--no-cache'];
    const env = { ...process.env, TARPUSH_CACHE_DIR: cacheDir, XDG_CACHE_HOME: cacheDir };
    const r = await runTimed(process.execPath, argv, { rss: true, env, timeoutMs: PUSH_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`${r.signal ?? `exit ${String(r.code)}`}: ${lastLines(r.stderr || r.stdout, 2)}`);
    if (!(await manifestDigest(reg.url, `mem/${format}`, 'v1'))) throw new Error(`exit 0 but mem/${format}:v1 is not in the registry`);
    return { peak: r.peakRssMiB, seconds: r.seconds };
  } finally {
    await reg.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

export function memoryTable(rows: MemoryRow[], limit: number): string {
  const sizes = [...new Set(rows.map((r) => r.mb))];
  const formats = [...new Set(rows.map((r) => r.format))];
  const cell = (mb: number, f: ArchiveFormat): string => {
    const r = rows.find((x) => x.mb === mb && x.format === f);
    if (!r) return '—';
    if (r.failure) return `FAILED (${r.failure})`;
    const peaks = r.peaks.filter((p): p is number => p !== undefined);
    if (peaks.length === 0) return 'not measured';
    const max = Math.max(...peaks);
    return `${max.toFixed(0)}${max > limit ? ' (over)' : ''}`;
  };
  const lines = [
    `| format | ${sizes.map((s) => `${s} MB`).join(' | ')} |`,
    `|:--|${sizes.map(() => '--:').join('|')}|`,
    ...formats.map((f) => `| ${f} | ${sizes.map((s) => cell(s, f)).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n\nPeak RSS in MiB (max of the runs; limit ${limit} MiB), measured with ${rssMethod === 'gnu-time' ? 'GNU time %M' : 'rss-launcher (process.resourceUsage)'}.\n`;
}

export async function measureMemory(opts: { sizes: number[]; formats: ArchiveFormat[]; runs: number; keepImages: boolean }): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const mb of opts.sizes) {
    const image = await ensureImage(mb);
    try {
      for (const format of opts.formats) {
        const row: MemoryRow = { mb, format, peaks: [], seconds: [] };
        rows.push(row);
        for (let run = 1; run <= opts.runs && !row.failure; run++) {
          try {
            const r = await coldPush(image, format);
            row.peaks.push(r.peak);
            row.seconds.push(r.seconds);
            log(`${mb} MB ${format} run ${run}/${opts.runs}: ${r.peak === undefined ? '?' : r.peak.toFixed(0)} MiB, ${r.seconds.toFixed(1)} s`);
          } catch (err) {
            row.failure = err instanceof Error ? err.message : String(err);
            log(`${mb} MB ${format} run ${run}/${opts.runs}: FAILED (${row.failure})`);
          }
        }
      }
    } finally {
      if (mb > KEEP_UP_TO_MB && !opts.keepImages) {
        log(`removing the ${mb} MB image (${image.dir})`);
        await rm(image.dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}

function parseList<T extends string | number>(value: string | boolean | undefined, name: string, fallback: T[], parse: (s: string) => T | undefined): T[] {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new Error(`--${name} needs a value`);
  return value.split(',').map((s) => {
    const v = parse(s.trim());
    if (v === undefined) throw new Error(`--${name}: ${JSON.stringify(s)} is not valid`);
    return v;
  });
}

async function main(): Promise<void> {
  const args = benchArgs({ sizes: 'string', formats: 'string', runs: 'string', limit: 'string', 'keep-images': 'boolean' }, USAGE);
  // Run from bench/run.ts with --quick (TARPUSH_BENCH_QUICK=1): the 100 MB image only.
  const sizes = parseList(args.sizes, 'sizes', process.env.TARPUSH_BENCH_QUICK === '1' ? [100] : DEFAULT_SIZES, (s) => (/^[1-9]\d*$/.test(s) ? Number(s) : undefined));
  const formats = parseList<ArchiveFormat>(args.formats, 'formats', [...ARCHIVE_FORMATS], (s) => ARCHIVE_FORMATS.find((f) => f === s));
  const runs = positiveInt(args.runs, 'runs', 1);
  const limit = positiveInt(args.limit, 'limit', 100);
  const rows = await measureMemory({ sizes, formats, runs, keepImages: args['keep-images'] === true });
  process.stdout.write(memoryTable(rows, limit));
  const bad = rows.some((r) => r.failure);
  process.exitCode = bad ? 1 : 0;
}

// Run as a script (push.ts may also import measureMemory and memoryTable).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`memory: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
