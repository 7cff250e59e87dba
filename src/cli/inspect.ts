import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TarpushError } from '../errors.js';
import { openArchive } from '../archive/open.js';
import { selectImages } from '../archive/select.js';
import { describe, type ArtifactDescription, type ImageDescription, type NotCarriedDescription } from '../image/describe.js';
import { LayerVerifier } from '../image/verify.js';
import { parsePlatform, platformMatches } from '../image/platform.js';
import type { ArchiveImage } from '../image/types.js';
import { printable, printableJson } from '../util/printable.js';
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
  /** Only the images of this platform (`os/arch[/variant]`). */
  platform?: string;
  /** Also compute the digest `push --format F` gives in a registry (compresses plain layers). */
  format?: 'keep' | 'docker' | 'oci';
}

/** The digest a registry gets from `push --format F` (and which F), beside the archive's own. */
interface Pushed {
  format: string;
  digest: string;
  mediaType: string;
}

type Placed<T> = T & { position: number; verified?: boolean };

interface Described {
  format: string;
  /**
   * `position`: the entry's place in the archive (what --image N selects). Index entries the
   * archive does not carry are listed with `carried: false` (and are never verified).
   */
  images: Placed<ImageDescription | NotCarriedDescription>[];
  /** With --format: per archive image (position), what push would write to a registry. */
  pushed?: Array<Pushed & { position: number }>;
  /** Artifacts (SBOMs, signatures, attestations): entry points and index entries alike. */
  artifacts: Placed<ArtifactDescription>[];
}

/** Describe (and optionally verify) the images of an archive file, directory or `-`. */
export async function inspectArchive(path: string, opts: InspectOptions, io: CliIO): Promise<number> {
  const archive = await openArchive(path, { stdin: io.stdin, onNote: (message) => io.stderr.write(`tarpush: ${message}\n`) });
  const verifier = opts.verify ? new LayerVerifier() : undefined;
  try {
    const chosen = selectImages(archive, opts.image !== undefined ? { image: opts.image } : { all: true });
    const wanted = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
    const out: Described = { format: archive.format, images: [], artifacts: [] };
    for (const im of chosen) {
      await verifier?.verifyImage(im.root);
      const names = { repoTags: im.repoTags, ...(im.refName !== undefined ? { refName: im.refName } : {}) };
      const placed = <T extends object>(d: T): Placed<T> => ({ ...d, position: im.index, ...(opts.verify && !('carried' in d) ? { verified: true } : {}) });
      const found = describe(im.root, names);
      const images = wanted ? found.images.filter((d) => platformMatches(d.platform, wanted)) : found.images;
      out.images.push(...images.map(placed));
      if (!wanted) out.artifacts.push(...found.artifacts.map(placed));
      if (opts.format && images.length > 0) (out.pushed ??= []).push({ ...(await pushedDigest(im, opts.format, opts.platform)), position: im.index });
    }
    if (wanted && out.images.length === 0) {
      throw new TarpushError('IMAGE_NOT_FOUND', `--platform ${printable(opts.platform!)}: no image of ${printable(path)} is for that platform`);
    }
    if (opts.json) io.stdout.write(`${printableJson(out)}\n`);
    else io.stdout.write(joinBlocks(formatImages(out.images, out.pushed), formatArtifacts(out.artifacts)));
    return ExitCode.ok;
  } finally {
    await archive.close();
    await verifier?.close();
  }
}

/**
 * What `push --format F` gives a registry for this image: the image is published into a
 * throw-away OCI layout (the same pipeline: plain layers compressed, converted per format;
 * the digest cache makes a later push cheap), in the manifest family a registry would get.
 * `keep` is the archive's own family: docker media types stay docker.
 */
async function pushedDigest(im: ArchiveImage, format: 'keep' | 'docker' | 'oci', platform: string | undefined): Promise<Pushed> {
  const { publishImages } = await import('../publish/publish.js');
  const family = format !== 'keep' ? format : /vnd\.docker\./.test(im.root.mediaType) ? 'docker' : 'oci';
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-inspect-'));
  try {
    const [r] = await publishImages([im], { source: '', destinations: [`oci:${dir}`], format: family, ...(platform !== undefined ? { platforms: [platform] } : {}) });
    return { format, digest: r!.digest, mediaType: r!.mediaType };
  } finally {
    await rm(dir, { recursive: true, force: true });
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
  const args = await parseVerb<InspectArgs & RegistryFlags & { platform?: string; format?: string }>('inspect <archive|reference>', argv, io, (y) =>
    withRegistryFlags(
      y
        .command('$0 <source>', 'describe the images in an archive (file, OCI layout directory, or - for stdin) or in a registry')
        .positional('source', { type: 'string', demandOption: true, describe: 'archive path, OCI layout directory, - (stdin), or registry/repository[:tag|@digest]' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
        .option('verify', { type: 'boolean', default: false, describe: 'archives: read every layer and check digests, sizes and diff_ids' })
        .option('image', { type: 'string', describe: 'archives: only this image: repo tag, OCI ref name, digest, or position (0, 1, …)' })
        .option('platform', { type: 'string', describe: 'only this platform of a multi-platform image (os/arch[/variant])' })
        .option('format', { choices: ['keep', 'docker', 'oci'], describe: 'archives: also print the manifest digest push --format gives a registry (compresses plain layers: takes as long as a push)' }),
    ),
  );
  if (!args) return ExitCode.ok;
  const { source } = args;
  if (!looksLikeArchive(source)) {
    if (args.verify || args.image !== undefined || args.format !== undefined) throw new TarpushError('USAGE', `${source} is not a file or directory; --verify, --image and --format apply to archives`);
    const { inspectRemote } = await import('./inspect-remote.js');
    return inspectRemote(source, args, io);
  }
  return inspectArchive(
    source,
    {
      json: args.json,
      verify: args.verify,
      ...(args.image !== undefined ? { image: args.image } : {}),
      ...(args.platform !== undefined ? { platform: args.platform } : {}),
      ...(args.format !== undefined ? { format: args.format as 'keep' | 'docker' | 'oci' } : {}),
    },
    io,
  );
}
