/**
 * Cost of verifying one layer (stored digest and size, diff_id, compression and tar checks):
 * `verifyLayer` on an uncompressed layer tar and on its gzip, read from the file by the
 * worker ("file") and fed to it chunk by chunk ("fed", as for sources that are not a file
 * range). Prints wall and CPU time (all threads) per case, median of --runs.
 *
 *   node dist/bench/verify-layer.js --tar LAYER.tar [--runs 5]
 *
 * LAYER.tar.gz is made beside it with `gzip -6 -n` when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileRangeSource } from '../src/image/sources.js';
import type { ByteSource, Layer } from '../src/image/types.js';
import { LayerVerifier } from '../src/image/verify.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { fileDigest } from './lib/file-digest.js';

const args = benchArgs({ tar: 'string', runs: 'string' }, 'node dist/bench/verify-layer.js --tar LAYER.tar [--runs 5]');
if (typeof args['tar'] !== 'string') throw new Error('--tar LAYER.tar is required');
const tar = args['tar'];
const runs = positiveInt(args['runs'], 'runs', 5);
const gz = `${tar}.gz`;
if (!existsSync(gz)) writeFileSync(gz, execFileSync('gzip', ['-6', '-n', '-c', tar], { maxBuffer: 4 << 30 }));

const plain = await fileDigest(tar);
const packed = await fileDigest(gz);
const fileLayer = (path: string, d: { digest: string; size: number }, compression: 'gzip' | 'none'): Layer => ({
  digest: d.digest as Layer['digest'],
  size: d.size,
  mediaType: compression === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
  compression,
  diffId: plain.digest as Layer['diffId'],
  source: fileRangeSource(path, 0, d.size, path),
});
/** The same bytes without the `file` hint: the worker is fed copies of the chunks. */
const fed = (l: Layer): Layer => {
  const s: ByteSource = { size: l.source.size, location: l.source.location, open: (a, b) => l.source.open(a, b) };
  return { ...l, source: s };
};

const cases: Array<[string, Layer]> = [
  ['plain tar', fileLayer(tar, plain, 'none')],
  ['gzip, file', fileLayer(gz, packed, 'gzip')],
  ['gzip, fed', fed(fileLayer(gz, packed, 'gzip'))],
];
const verifier = new LayerVerifier();
const verifyLayer = (l: Layer) => verifier.verifyLayer(l);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

process.stdout.write(`layer: ${tar} (${((await stat(tar)).size / 2 ** 20).toFixed(0)} MiB), gzip ${(packed.size / 2 ** 20).toFixed(0)} MiB, ${runs} runs\n`);
for (const [name, layer] of cases) {
  await verifyLayer(layer); // warm-up: page cache and worker start
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await verifyLayer(layer);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  process.stdout.write(`${name.padEnd(11)} wall ${(median(wall) / 1000).toFixed(2)} s (min ${(Math.min(...wall) / 1000).toFixed(2)})  cpu ${(median(cpu) / 1000).toFixed(2)} s\n`);
}
await verifier.close();
