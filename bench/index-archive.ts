/**
 * Bench: opening a large kaniko-style archive (header-only indexing) against a full
 * tar-stream pass over the same file (which has to stream every data byte).
 *
 *   node dist/bench/index-archive.js [--size-gb 1] [--runs 5]
 *
 * The archive is generated once and cached in os.tmpdir() (never in the repository):
 * several gzip layers of random bytes (stored deflate blocks, so making them is cheap)
 * plus a config and manifest.json, as go-containerregistry's tarball.Write lays them out.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { openArchive } from '../src/archive/index.js';

const LAYER_BYTES = 128 * 1024 * 1024;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function generate(file: string, sizeGb: number): Promise<void> {
  const layers = Math.max(1, Math.ceil((sizeGb * 1024 ** 3) / LAYER_BYTES));
  const tmp = `${file}.partial`;
  const p = pack();
  const out = pipeline(p, createWriteStream(tmp));
  const add = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => p.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve())));
  const diffIds: string[] = [];
  const names: string[] = [];
  const raw = Buffer.allocUnsafe(LAYER_BYTES);
  for (let i = 0; i < layers; i++) {
    randomFillSync(raw);
    const stored = gzipSync(raw, { level: 0 });
    diffIds.push(sha(raw));
    const name = `${sha(stored).slice(7)}.tar.gz`;
    names.push(name);
    await add(name, stored);
    process.stderr.write(`  generated layer ${i + 1}/${layers}\r`);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  await add(sha(config), config);
  await add('manifest.json', Buffer.from(JSON.stringify([{ Config: sha(config), RepoTags: ['bench/app:latest'], Layers: names }])));
  p.finalize();
  await out;
  await rename(tmp, file);
  process.stderr.write('\n');
}

async function time<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;

async function tarStreamPass(file: string): Promise<void> {
  const ex = extract();
  ex.on('entry', (_h, stream, next) => {
    stream.on('end', () => next());
    stream.resume();
  });
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), ex);
}

async function main(): Promise<void> {
  const sizeGb = arg('size-gb', 1);
  const runs = arg('runs', 5);
  const file = join(tmpdir(), `tarpush-bench-index-${sizeGb}g.tar`);
  const exists = await stat(file).catch(() => undefined);
  if (!exists) {
    process.stderr.write(`generating ${file} (~${sizeGb} GiB, cached for later runs)\n`);
    await rm(`${file}.partial`, { force: true });
    await generate(file, sizeGb);
  }
  const size = (await stat(file)).size;

  const opens: number[] = [];
  let entries = 0;
  for (let i = 0; i < runs; i++) {
    opens.push(
      await time(async () => {
        const a = await openArchive(file);
        entries = a.images[0]!.root.kind === 'image' ? a.images[0]!.root.layers.length : 0;
        await a.close();
      }),
    );
  }
  const rssAfterOpen = process.resourceUsage().maxRSS;
  const streamMs = await time(() => tarStreamPass(file));
  const rssAfterStream = process.resourceUsage().maxRSS;

  const rows: [string, string, string][] = [
    ['method', 'time', 'peak RSS'],
    [`openArchive (median of ${runs})`, `${median(opens).toFixed(2)} ms`, mib(rssAfterOpen)],
    ['tar-stream extract, full pass', `${streamMs.toFixed(0)} ms`, mib(rssAfterStream)],
  ];
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(`archive: ${file} (${(size / 1024 ** 3).toFixed(2)} GiB, ${entries} layers)`);
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(w[c]!)).join('  '));
  console.log(`openArchive runs (ms): ${opens.map((x) => x.toFixed(2)).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
