import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, appendFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TarpushError } from '../errors.js';
import type { PublishResult } from '../publish/publish.js';
import { ggcrName } from '../reference/index.js';
import { isPrintable, printable } from '../util/printable.js';

export interface OutputFiles {
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
  githubOutput?: string;
}

const FLAG_OF: Record<keyof OutputFiles, string> = {
  digestFile: '--digest-file',
  imageNameWithDigestFile: '--image-name-with-digest-file',
  imageNameTagWithDigestFile: '--image-name-tag-with-digest-file',
  githubOutput: 'GITHUB_OUTPUT',
};

/**
 * Output paths are checked before the first upload: a typo in `--digest-file` must cost a
 * usage error, not an exit 1 after the tags are live.
 */
export async function checkOutputPaths(files: OutputFiles): Promise<void> {
  for (const [key, path] of Object.entries(files) as Array<[keyof OutputFiles, string | undefined]>) {
    if (!path) continue;
    const what = `${FLAG_OF[key]} ${printable(path)}`;
    const existing = await stat(path).catch(() => undefined);
    if (existing && !existing.isFile()) throw new TarpushError('USAGE', `${what}: exists and is not a regular file`);
    const dir = dirname(resolve(path));
    const parent = await stat(dir).catch(() => undefined);
    if (!parent?.isDirectory()) throw new TarpushError('USAGE', `${what}: directory ${printable(dir)} does not exist`);
    await access(existing ? path : dir, constants.W_OK).catch(() => {
      throw new TarpushError('USAGE', `${what}: not writable`);
    });
  }
}

/** One line of an output file; references were validated on the way in, so this only guards. */
function line(text: string): string {
  if (!isPrintable(text)) throw new TarpushError('USAGE', `refusing to write ${JSON.stringify(text)} to an output file: it holds control characters`);
  return `${text}\n`;
}

/**
 * kaniko's output files and GitHub Actions outputs, each naming the digest the destination
 * in question actually holds:
 * - --digest-file: the first destination's digest (one line per image with --all);
 * - --image-name-with-digest-file: `place@digest` per destination (and image);
 * - --image-name-tag-with-digest-file: `place:tag@digest` per tag written;
 *   (in both name files Docker Hub is `index.docker.io/…`, as kaniko writes it);
 * - GITHUB_OUTPUT: `digest=` and `image=` of the first image's first destination; with
 *   several images or destinations also `images`, a multi-line value of every `place@digest`.
 */
export async function writeOutputs(results: PublishResult[], files: OutputFiles): Promise<void> {
  const first = results[0];
  if (!first) return;
  const dests = results.flatMap((r) => r.destinations);
  const names = [...new Set(dests.map((d) => d.reference))];
  if (files.digestFile) {
    await writeFile(files.digestFile, results.length === 1 ? line(first.digest).trimEnd() : results.map((r) => line(r.digest)).join(''));
  }
  // kaniko's two name files name Docker Hub as go-containerregistry does: index.docker.io/….
  if (files.imageNameWithDigestFile) await writeFile(files.imageNameWithDigestFile, names.map((n) => line(ggcrName(n))).join(''));
  if (files.imageNameTagWithDigestFile) {
    const tagged = dests.flatMap((d) => d.tags.filter((t) => t.live).map((t) => line(ggcrName(`${t.reference}@${d.digest}`))));
    await writeFile(files.imageNameTagWithDigestFile, tagged.join(''));
  }
  if (files.githubOutput) {
    let out = line(`digest=${first.digest}`) + line(`image=${first.destinations[0]!.reference}`);
    if (names.length > 1) {
      // GitHub's multi-line syntax; the delimiter is random so no value can end it early.
      const eof = `tarpush_${randomBytes(8).toString('hex')}`;
      out += line(`images<<${eof}`) + names.map(line).join('') + line(eof);
    }
    await appendFile(files.githubOutput, out);
  }
}
