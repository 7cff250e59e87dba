import { existsSync } from 'node:fs';
import { ExitCode, TarpushError } from '../errors.js';
import { openArchive } from '../archive/open.js';
import { selectImages } from '../archive/select.js';
import { describe, type ArtifactDescription, type ImageDescription, type NotCarriedDescription } from '../image/describe.js';
import { LayerVerifier } from '../image/verify.js';
import { printableJson } from '../util/printable.js';
import type { CliIO } from './io.js';
import { formatArtifacts, formatImages } from './format-images.js';
import { parseVerb } from './parse.js';
import { withRegistryFlags, type RegistryFlags } from './registry-options.js';

/**
 * `tarpush inspect <archive> [--json] [--verify] [--image SEL]`: describe the images in an
 * archive (all of them unless --image picks one). The archive branch is inspectArchive();
 * a registry reference goes to inspect-remote.ts.
 */

interface InspectArgs {
  source: string;
  json: boolean;
  verify: boolean;
  image?: string;
}

export interface InspectOptions {
  json: boolean;
  verify: boolean;
  image?: string;
}

type Placed<T> = T & { position: number; verified?: boolean };

interface Described {
  format: string;
  /**
   * `position`: the entry's place in the archive (what --image N selects). Index entries the
   * archive does not carry are listed with `carried: false` (and are never verified).
   */
  images: Placed<ImageDescription | NotCarriedDescription>[];
  /** Artifacts (SBOMs, signatures, attestations): entry points and index entries alike. */
  artifacts: Placed<ArtifactDescription>[];
}

/** Describe (and optionally verify) the images of an archive file, directory or `-`. */
export async function inspectArchive(path: string, opts: InspectOptions, io: CliIO): Promise<number> {
  const archive = await openArchive(path, { stdin: io.stdin, onNote: (message) => io.stderr.write(`tarpush: ${message}\n`) });
  const verifier = opts.verify ? new LayerVerifier() : undefined;
  try {
    const chosen = selectImages(archive, opts.image !== undefined ? { image: opts.image } : { all: true });
    const out: Described = { format: archive.format, images: [], artifacts: [] };
    for (const im of chosen) {
      await verifier?.verifyImage(im.root);
      const names = { repoTags: im.repoTags, ...(im.refName !== undefined ? { refName: im.refName } : {}) };
      const placed = <T extends object>(d: T): Placed<T> => ({ ...d, position: im.index, ...(opts.verify && !('carried' in d) ? { verified: true } : {}) });
      const found = describe(im.root, names);
      out.images.push(...found.images.map(placed));
      out.artifacts.push(...found.artifacts.map(placed));
    }
    if (opts.json) io.stdout.write(`${printableJson(out)}\n`);
    else io.stdout.write(joinBlocks(formatImages(out.images), formatArtifacts(out.artifacts)));
    return ExitCode.ok;
  } finally {
    await archive.close();
    await verifier?.close();
  }
}

/** Two block lists, one blank line between them when both have blocks. */
const joinBlocks = (a: string, b: string): string => (a && b ? `${a}\n${b}` : a + b);

/** A path that exists, stdin, or something only a path can look like (a reference never does). */
const looksLikeArchive = (s: string): boolean =>
  s === '-' || existsSync(s) || /^[./~]/.test(s) || /\.(tar|tar\.gz|tgz)$/.test(s);

/**
 * `inspect` takes an archive (a path that exists, or - for stdin) or a registry reference;
 * both answer in the same JSON shape.
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb<InspectArgs & RegistryFlags & { platform?: string }>('inspect <archive|reference>', argv, io, (y) =>
    withRegistryFlags(
      y
        .command('$0 <source>', 'describe the images in an archive (file, OCI layout directory, or - for stdin) or in a registry')
        .positional('source', { type: 'string', demandOption: true, describe: 'archive path, OCI layout directory, - (stdin), or registry/repository[:tag|@digest]' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
        .option('verify', { type: 'boolean', default: false, describe: 'archives: read every layer and check digests, sizes and diff_ids' })
        .option('image', { type: 'string', describe: 'archives: only this image: repo tag, OCI ref name, digest, or position (0, 1, …)' })
        .option('platform', { type: 'string', describe: 'references: only this platform of a multi-platform image (os/arch[/variant])' }),
    ),
  );
  if (!args) return ExitCode.ok;
  const { source } = args;
  if (!looksLikeArchive(source)) {
    if (args.verify || args.image !== undefined) throw new TarpushError('USAGE', `${source} is not a file or directory; --verify and --image apply to archives`);
    const { inspectRemote } = await import('./inspect-remote.js');
    return inspectRemote(source, args, io);
  }
  return inspectArchive(source, { json: args.json, verify: args.verify, ...(args.image !== undefined ? { image: args.image } : {}) }, io);
}
