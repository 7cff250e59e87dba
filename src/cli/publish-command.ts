import type { Argv } from 'yargs';
import { TarpushError } from '../errors.js';
import type { ArchiveImage } from '../image/types.js';
import type { ClientOptions } from '../registry/options.js';
import { assertCompressionSupported, zstdAvailable } from '../compress/zstd.js';
import { checkTagArgument } from '../places/parse.js';
import { publishDefaults, type CompressionOption, type FormatOption, type PublishOptions } from '../publish/options.js';
import type { PublishResult } from '../publish/publish.js';
import { printable, printableJson } from '../util/printable.js';
import type { CliIO } from './io.js';
import { repeatable } from './parse.js';
import { progressRenderer, type ProgressMode } from './progress.js';
import { clientOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';
import { checkOutputPaths, writeOutputs } from './write-outputs.js';

/**
 * The flags and the run of every verb that writes images (push, copy, save, index): one
 * pipeline, so one set of flags with one meaning each, one output (progress, --json, kaniko's
 * digest files), one way of failing.
 */
export interface PublishFlags extends RegistryFlags {
  tag?: string | string[];
  destination?: string | string[];
  platform?: string | string[];
  format: string;
  compression: string;
  'compression-level': number;
  'verify-diff-ids': boolean;
  verify?: boolean;
  'allow-nondistributable-artifacts'?: boolean;
  jobs: number;
  json?: boolean;
  quiet?: boolean;
  progress: 'auto' | 'tty' | 'plain' | 'none';
  'digest-file'?: string;
  'image-name-with-digest-file'?: string;
  'image-name-tag-with-digest-file'?: string;
  cache: boolean;
  'cache-from'?: string | string[];
}

export function withPublishFlags<T>(y: Argv<T>, opts: { destinations?: boolean; formats?: readonly string[] } = {}): Argv<T & PublishFlags> {
  let z = y.option('tag', { alias: 't', type: 'string', describe: 'add a tag in every destination repository (repeat the flag for more)' });
  if (opts.destinations !== false) {
    z = z.option('destination', { alias: 'd', type: 'string', describe: 'publish to this place too (repeat the flag for more): a registry reference, oci:DIR[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:repo:tag]' });
  }
  return withRegistryFlags(
    z
      .option('platform', { type: 'string', describe: 'limit a multi-platform index to os/arch[/variant] (repeat the flag for more)' })
      .option('format', { choices: (opts.formats ?? ['keep', 'docker', 'oci']) as string[], default: opts.formats?.[0] ?? publishDefaults.format, describe: 'manifest format' })
      .option('compression', compressionOption())
      .option('compression-level', { type: 'number', default: publishDefaults.compressionLevel, describe: 'gzip level 1-9 for layers compressed on the way (1: fastest; 6: ~6 % smaller, faster over links under ~115 Mbit/s per core)' })
      .option('verify-diff-ids', { type: 'boolean', default: publishDefaults.verifyDiffIds, describe: 'decompress compressed layers to check the config diff_ids (--no-verify-diff-ids: digests and sizes only, faster)' })
      .option('verify', { type: 'boolean', describe: 'check again what is otherwise trusted: hash every blob an oci: destination already holds (by default blobs over 1 MiB are trusted by size), and decompress layers whose diff_id this user\'s cache or an already-published config vouches for' })
      .option('allow-nondistributable-artifacts', { type: 'boolean', describe: 'upload foreign (non-distributable) layers as ordinary layers (the manifest digest changes); by default they are not uploaded and keep their urls' })
      .option('jobs', { alias: 'j', type: 'number', default: publishDefaults.jobs, describe: 'blobs transferred at once' })
      .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress output' })
      .option('progress', { choices: ['auto', 'tty', 'plain', 'none'] as const, default: 'auto' as const, describe: 'progress style on stderr' })
      .option('digest-file', { type: 'string', describe: 'write the manifest digest to this file' })
      .option('image-name-with-digest-file', { type: 'string', describe: 'write place@digest (one per destination) to this file' })
      .option('image-name-tag-with-digest-file', { type: 'string', describe: 'write place:tag@digest (one per tag) to this file' })
      .option('cache', { type: 'boolean', default: true, describe: 'use the digest cache (~/.cache/tarpush, or $XDG_CACHE_HOME/tarpush); --no-cache to skip it' })
      .option('cache-from', { type: 'string', describe: 'an image whose layers a registry destination may already hold (repeat the flag for more): a plain layer it pairs with a blob the destination holds or mounts is not compressed again' })
      .check((a) => {
        checkCompression(a.compression);
        const level = a['compression-level'] as number;
        if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error('--compression-level must be 1..9');
        if (!Number.isInteger(a.jobs) || (a.jobs as number) < 1) throw new Error('--jobs must be a positive integer');
        return true;
      }),
  ) as unknown as Argv<T & PublishFlags>;
}

/** zstd is offered only where this Node can write it (node:zlib has it from 22.15 on). */
function compressionOption() {
  const describe = 'layer compression (keep: compressed layers as they are, plain layers gzipped)';
  if (zstdAvailable()) return { choices: ['keep', 'gzip', 'zstd', 'none'], default: publishDefaults.compression, describe };
  // No `choices` here: zstd is left out of the list, yet asking for it gets the reason.
  return { type: 'string', default: publishDefaults.compression, describe: `${describe}: keep, gzip or none (zstd needs Node ≥ 22.15; this is ${process.versions.node})` } as const;
}

function checkCompression(value: unknown): void {
  if (zstdAvailable() || value === 'keep' || value === 'gzip' || value === 'none') return;
  if (value === 'zstd') assertCompressionSupported('zstd');
  throw new Error(`--compression ${JSON.stringify(printable(String(value)))}: expected one of keep, gzip, none`);
}

export interface PublishRun {
  /** The source text (publish opens it) — or images the verb opened itself (index). */
  source?: string;
  images?: (client: ClientOptions) => Promise<{ images: ArchiveImage[]; close(): Promise<void> }>;
  destinations: string[];
  /** Verb-specific options (image selection, anySource…). */
  extra?: Partial<PublishOptions>;
  /** With several images, --json and the digest files list each (push --all). */
  several?: boolean;
}

export async function runPublish(args: PublishFlags, io: CliIO, r: PublishRun): Promise<number> {
  const tags = repeatable(args.tag);
  for (const t of tags) checkTagArgument(t);
  const outputFiles = {
    digestFile: args['digest-file'],
    imageNameWithDigestFile: args['image-name-with-digest-file'],
    imageNameTagWithDigestFile: args['image-name-tag-with-digest-file'],
    githubOutput: io.env.GITHUB_OUTPUT,
  };
  await checkOutputPaths(outputFiles);
  const mode: ProgressMode = args.quiet || args.json || args.progress === 'none'
    ? 'quiet'
    : args.progress === 'auto' ? (io.stderr.isTTY && !io.env.CI ? 'tty' : 'plain') : args.progress;
  const progress = progressRenderer(mode, io, { verbose: !!args.verbose });
  const client = await clientOptions(args, io, { stdinTaken: r.source === '-', log: progress.clientEvent });
  const { publish, publishImages } = await import('../publish/publish.js');
  const options: PublishOptions = {
    source: r.source ?? '',
    destinations: r.destinations,
    tags,
    platforms: repeatable(args.platform),
    format: args.format as FormatOption,
    compression: args.compression as CompressionOption,
    compressionLevel: args['compression-level'],
    jobs: args.jobs,
    verifyDiffIds: args['verify-diff-ids'],
    verifyExisting: !!args.verify,
    allowNondistributable: !!args['allow-nondistributable-artifacts'],
    client,
    cache: args.cache ? undefined : false,
    cacheFrom: repeatable(args['cache-from']),
    ...(r.source === '-' ? { stdin: io.stdin } : {}),
    onEvent: progress.listener,
    ...r.extra,
  };
  let results: PublishResult[];
  try {
    if (r.images) {
      const opened = await r.images(client);
      try {
        results = await publishImages(opened.images, options);
      } finally {
        await opened.close();
      }
    } else {
      results = await publish(options);
    }
  } catch (err) {
    // The tag phase failed part-way: --json still says, per destination, which tags are live.
    if (args.json && err instanceof TarpushError && err.code === 'TAGS_INCOMPLETE' && Array.isArray(err.details.results)) {
      io.stdout.write(`${printableJson(jsonOf(err.details.results as PublishResult[], !!r.several, progress.retries(), err.toLine()))}\n`);
    }
    throw err;
  } finally {
    progress.end();
  }
  await writeOutputs(results, outputFiles);
  if (args.json) {
    io.stdout.write(`${printableJson(jsonOf(results, !!r.several, progress.retries()))}\n`);
  } else {
    for (const res of results) for (const ref of res.references.filter((x) => x.includes('@'))) io.stdout.write(`${ref}\n`);
  }
  return 0;
}

/**
 * The `--json` shape: one image → that image's object; several (`--all`) → `{ images: [...] }`.
 * Each image: `digest`/`mediaType` (first destination), `references`, `blobs`, and
 * `destinations` with the digest each destination holds and every tag with `live`.
 * `compressed` counts the plain layers compressed (publish-wide); `retries` counts the requests repeated; `error` is set when the tag phase failed part-way.
 */
function jsonOf(results: PublishResult[], several: boolean, retries: number, error?: string): unknown {
  const images = results.map(({ digest, mediaType, references, blobs, destinations, compressed }) => ({ digest, mediaType, references, blobs, destinations, ...(compressed ? { compressed } : {}) }));
  const extra = { retries, ...(error ? { error } : {}) };
  return several ? { images, ...extra } : { ...images[0], ...extra };
}
