/** Where the benchmarks find the project and keep their generated images. */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs as dist/bench/lib/paths.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The CLI entry point the benchmarks time (the same file users run). */
export const tarpushBin = path.join(repoRoot, 'bin', 'tarpush.js');

/** Default home of the generated bench image: reused across runs (see make-image). */
export const defaultImageDir = path.join(os.tmpdir(), 'tarpush-bench');

/** bench/results.md in the source tree (not dist), where push.ts writes its table. */
export const resultsFile = path.join(repoRoot, 'bench', 'results.md');

/** The image directory for a given size: the default one for the full 1000 MB image, one per other size. */
export const imageDirFor = (mb: number): string => (mb === 1000 ? defaultImageDir : `${defaultImageDir}-${mb}mb`);
