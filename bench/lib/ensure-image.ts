/** Runs make-image (a no-op when the image is already there) and reads its description. */
import path from 'node:path';
import { readBenchImage, type BenchImage } from './bench-image.js';
import { runChecked } from './child.js';
import { repoRoot } from './paths.js';

export async function ensureImage(mb: number, dir: string, log: (line: string) => void): Promise<BenchImage> {
  log(`making (or reusing) the ${mb} MB bench image in ${dir}`);
  const makeImage = path.join(repoRoot, 'dist', 'bench', 'make-image.js');
  const r = await runChecked(process.execPath, [makeImage, '--mb', String(mb), '--out', dir], { timeoutMs: 30 * 60_000 });
  process.stderr.write(r.stdout);
  const image = readBenchImage(dir);
  if (!image) throw new Error(`make-image finished but ${dir} holds no usable image.json`);
  return image;
}

/** One line about the image for a report. */
export function imageLine(image: BenchImage): string {
  const l = image.layers;
  return (
    `${(image.uncompressedBytes / 2 ** 20).toFixed(0)} MiB uncompressed, ${(image.gzipBytes / 2 ** 20).toFixed(0)} MiB gzipped (gzip -6), ` +
    `3 layers: ${l.map((x, i) => `${x.dir}${image.stamp.sources[i]?.whole ? '' : ' (part)'} ${(x.tar.size / 2 ** 20).toFixed(0)}→${(x.gz.size / 2 ** 20).toFixed(0)} MiB`).join(', ')}; ` +
    `archives in ${image.dir}.`
  );
}
