/**
 * Gzip throughput on a corpus of real files: which compressor, level and block size
 * tarpush should use. `node dist/bench/compress.js [--mb 300] [--repeat 1] [--levels 1,6] [--only text]`
 * (--levels: gzip levels to try; --only a,b: run just the candidates whose name contains a or b).
 *
 * The corpus is a tar of files from /usr/lib, /usr/share and /usr/bin (in sorted order,
 * up to --mb megabytes), built once and cached in the temp directory. Every in-process
 * candidate reads the corpus from memory in 64 KiB chunks, so the disk is not measured;
 * the CLI references read it from the page cache.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdtemp, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import * as fflate from 'fflate';
import tar from 'tar-stream';
import { DEFAULT_GZIP_BLOCK_SIZE, DEFAULT_GZIP_LEVEL, defaultGzipConcurrency } from '../src/compress/defaults.js';
import { gzipParallel } from '../src/compress/parallel-gzip.js';
import { sha256 } from '../src/image/digest.js';
import { MediaType } from '../src/image/media-types.js';
import { bufferSource } from '../src/image/sources.js';
import { openLayout } from '../src/ocidir/index.js';

interface Result {
  name: string;
  seconds: number;
  /** Process CPU seconds (user + system, all threads); undefined for external tools. */
  cpu?: number;
  outBytes: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const ROOTS = ['/usr/lib', '/usr/share', '/usr/bin'];

/** Regular files under `dir` in sorted order (symlinks and unreadable entries skipped). */
async function* walk(dir: string): AsyncGenerator<{ path: string; size: number }> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    let s;
    try {
      s = await lstat(path);
    } catch {
      continue;
    }
    if (s.isDirectory()) yield* walk(path);
    else if (s.isFile()) yield { path, size: s.size };
  }
}

async function buildCorpus(mb: number): Promise<string> {
  const file = join(tmpdir(), `tarpush-bench-corpus-${mb}MB.tar`);
  try {
    if ((await stat(file)).size >= mb * 1e6) return file;
  } catch {
    /* build it */
  }
  process.stderr.write(`building corpus ${file}…\n`);
  const tmp = `${file}.partial-${process.pid}`;
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(tmp));
  let total = 0;
  outer: for (const root of ROOTS) {
    for await (const f of walk(root)) {
      if (total >= mb * 1e6) break outer;
      // Read fully first: a file that changes or vanishes while packed would corrupt the tar.
      let data: Buffer;
      try {
        data = await readFile(f.path);
      } catch {
        continue;
      }
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: f.path.slice(1), size: data.length, mode: 0o644, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve())),
      );
      total += data.length;
    }
  }
  pack.finalize();
  await written;
  await rename(tmp, file);
  return file;
}

function chunksOf(data: Buffer, size = 64 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** A sink that only counts bytes. */
function counter(): { sink: Writable; bytes: () => number } {
  let n = 0;
  return {
    sink: new Writable({
      write(chunk: Buffer, _e, cb) {
        n += chunk.length;
        cb();
      },
    }),
    bytes: () => n,
  };
}

/** What a candidate reports: output bytes, and for external tools their own time and CPU. */
interface Measured {
  outBytes: number;
  seconds?: number;
  cpu?: number;
}

async function timed(name: string, run: () => Promise<number | Measured>): Promise<Result> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const got = await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const m: Measured = typeof got === 'number' ? { outBytes: got } : got;
  return { name, seconds: m.seconds ?? seconds, cpu: m.cpu ?? (c.user + c.system) / 1e6, outBytes: m.outBytes };
}

async function streamThrough(chunks: Buffer[], make: (input: Readable) => Readable): Promise<number> {
  const { sink, bytes } = counter();
  await pipeline(make(Readable.from(chunks)), sink);
  return bytes();
}

function fflateAsync(data: Buffer, level: fflate.DeflateOptions['level']): Promise<number> {
  return new Promise((resolve, reject) =>
    fflate.gzip(data, { level, mtime: 0 }, (err, out) => (err ? reject(err) : resolve(out.length))),
  );
}

/** Run a shell command line and resolve with what it prints. */
function shell(cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/**
 * Run an external tool under /usr/bin/time (when present) so its CPU time is measured too.
 * `cmd` prints a byte count unless `outBytes` is given.
 */
async function external(cmd: string, outBytes?: () => Promise<number>): Promise<Measured> {
  const timeFile = join(tmpdir(), `tarpush-bench-time-${process.pid}`);
  const haveTime = (await shell('test -x /usr/bin/time && echo 1 || echo 0')).trim() === '1';
  const quoted = cmd.replace(/'/g, `'\\''`);
  const t0 = process.hrtime.bigint();
  const printed = await shell(haveTime ? `/usr/bin/time -f '%U %S' -o ${timeFile} sh -c '${quoted}'` : cmd);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let cpu: number | undefined;
  if (haveTime) {
    const [user, sys] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
    cpu = user! + sys!;
    await rm(timeFile, { force: true });
  }
  return { outBytes: outBytes ? await outBytes() : Number(printed.trim()), seconds, cpu };
}

/**
 * skopeo's own gzip (a parallel gzip at its default level) on the same bytes: an OCI layout
 * whose one layer is the uncompressed corpus, copied with --dest-compress. Resolves with
 * the compressed layer size; the time includes skopeo reading and hashing the corpus.
 */
async function skopeoCompress(corpus: string, data: Buffer): Promise<Measured> {
  const work = await mkdtemp(join(tmpdir(), 'tarpush-bench-skopeo-'));
  try {
    const src = await openLayout(join(work, 'src'), { create: true });
    const layerDigest = sha256(data);
    await link(corpus, join(src.root, 'blobs', 'sha256', layerDigest.slice(7)));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
    await src.putBlob(sha256(config), bufferSource(config, 'config'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
        layers: [{ mediaType: MediaType.ociLayer, digest: layerDigest, size: data.length }],
      }),
    );
    await src.putManifest('bench', manifest, MediaType.ociManifest);
    const dst = join(work, 'dst');
    return await external(
      `skopeo --insecure-policy copy --quiet --dest-compress --dest-compress-format gzip oci:${src.root}:bench oci:${dst}:bench`,
      async () => {
        const out = await openLayout(dst);
        const m = JSON.parse((await out.getManifest('bench')).raw.toString()) as { layers: Array<{ size: number }> };
        return m.layers[0]!.size;
      },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function onPath(cmd: string): Promise<boolean> {
  return (await shell(`command -v ${cmd} >/dev/null 2>&1 && echo 1 || echo 0`)).trim() === '1';
}

async function main(): Promise<void> {
  const mb = Number(arg('mb', '300'));
  const repeat = Number(arg('repeat', '1'));
  const levels = arg('levels', '1,6').split(',').map(Number);
  const only = arg('only', '');
  const corpus = await buildCorpus(mb);
  const fh = await open(corpus, 'r');
  const data = await fh.readFile();
  await fh.close();
  const chunks = chunksOf(data);
  const inMB = data.length / 1e6;
  const load0 = loadavg()[0]!;

  const candidates: Array<[string, () => Promise<number | Measured>]> = [];
  for (const level of levels) {
    candidates.push([`node:zlib gzip -${level} (1 thread)`, () => streamThrough(chunks, (i) => i.pipe(zlib.createGzip({ level })))]);
  }
  for (const level of levels as fflate.DeflateOptions['level'][]) {
    candidates.push([`fflate gzipSync -${level}`, async () => fflate.gzipSync(data, { level, mtime: 0 }).length]);
    candidates.push([`fflate gzip (async, worker) -${level}`, () => fflateAsync(data, level)]);
  }
  for (const level of levels) {
    for (const kib of [64, 128, 256, 1024]) {
      candidates.push([
        `gzipParallel -${level} block ${kib}K`,
        () => streamThrough(chunks, (i) => gzipParallel(i, { level, blockSize: kib * 1024 })),
      ]);
    }
  }
  candidates.push([
    `gzipParallel defaults (-${DEFAULT_GZIP_LEVEL}, ${DEFAULT_GZIP_BLOCK_SIZE >> 10}K, ${defaultGzipConcurrency()} at once)`,
    () => streamThrough(chunks, (i) => gzipParallel(i)),
  ]);
  for (const level of levels) {
    candidates.push([`gzip CLI -${level}`, () => external(`gzip -${level} -c < '${corpus}' | wc -c`)]);
  }
  if (await onPath('pigz')) {
    for (const level of levels) candidates.push([`pigz -${level}`, () => external(`pigz -${level} -c < '${corpus}' | wc -c`)]);
  }

  if (await onPath('skopeo')) {
    candidates.push(['skopeo copy --dest-compress (default level)', () => skopeoCompress(corpus, data)]);
  }

  const results: Result[] = [];
  const wanted = only.split(',');
  for (const [name, run] of candidates.filter(([name]) => wanted.some((w) => name.includes(w)))) {
    let best: Result | undefined;
    for (let r = 0; r < repeat; r++) {
      const res = await timed(name, run);
      if (!best || res.seconds < best.seconds) best = res;
    }
    results.push(best!);
    process.stderr.write(`${name}: ${(inMB / best!.seconds).toFixed(1)} MB/s\n`);
  }

  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\ncorpus: ${corpus} (${inMB.toFixed(0)} MB, files from ${ROOTS.join(', ')}); ` +
      `${availableParallelism()} cores (${cpuModel}), Node ${process.versions.node}, zlib ${process.versions.zlib}; ` +
      `load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}; best of ${repeat}\n`,
  );
  const header = ['compressor', 'MB/s', 'seconds', 'CPU s', 'cores used', 'output MB', 'ratio'];
  const rows = results.map((r) => [
    r.name,
    (inMB / r.seconds).toFixed(1),
    r.seconds.toFixed(2),
    r.cpu === undefined ? '–' : r.cpu.toFixed(2),
    r.cpu === undefined ? '–' : (r.cpu / r.seconds).toFixed(2),
    (r.outBytes / 1e6).toFixed(1),
    (r.outBytes / data.length).toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

await main();
