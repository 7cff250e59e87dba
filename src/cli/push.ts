import { TarpushError } from '../errors.js';
import { publishDefaults, type CompressionOption, type FormatOption } from '../publish/options.js';
import type { PublishResult } from '../publish/publish.js';
import type { CliIO } from './io.js';
import { parseVerb, repeatable } from './parse.js';
import { progressRenderer, type ProgressMode } from './progress.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';
import { checkOutputPaths, writeOutputs } from './write-outputs.js';
import { checkTagArgument } from '../places/parse.js';
import { printable, printableJson } from '../util/printable.js';

const description = `Publish an image archive to a registry or an OCI layout directory.

<source> is a kaniko --tar-path tarball, a docker save archive (any Docker version), an OCI
image layout (archive or directory), any of them gzipped, or - for standard input.
<destination> is a registry reference (registry/repo[:tag]) or oci:DIR[:tag]. Without a
destination the image goes to its own RepoTags. With --format keep a registry gets the
archive's own manifest (a kaniko tarball keeps the digest the build reported) and an OCI
layout gets an OCI manifest (layout readers skip others).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('push <source> [destination] [options]', argv, io, (y) =>
    withRegistryFlags(
      y
        // The description goes in the epilogue: yargs 17 wraps a multi-line usage as one run.
        .epilogue(description)
        .option('tag', { alias: 't', type: 'string', describe: 'add a tag in every destination repository (repeat the flag for more)' })
        .option('destination', { alias: 'd', type: 'string', describe: 'publish to this reference too (repeat the flag for more; any registry or oci:DIR[:tag])' })
        .option('image', { type: 'string', describe: 'pick one image of a multi-image archive: RepoTag, ref name or index' })
        .option('all', { type: 'boolean', describe: 'push every image of the archive under its own tag' })
        .option('platform', { type: 'string', describe: 'limit a multi-platform index to os/arch[/variant] (repeat the flag for more)' })
        .option('format', { choices: ['keep', 'docker', 'oci'] as const, default: publishDefaults.format, describe: 'manifest format' })
        .option('compression', { choices: ['keep', 'gzip', 'zstd', 'none'] as const, default: publishDefaults.compression, describe: 'layer compression (keep: gzipped layers as they are, plain layers gzipped)' })
        .option('compression-level', { type: 'number', default: publishDefaults.compressionLevel, describe: 'gzip level 1-9 for layers compressed on the way' })
        .option('verify-diff-ids', { type: 'boolean', default: publishDefaults.verifyDiffIds, describe: 'decompress compressed layers as they upload to check the config diff_ids (--no-verify-diff-ids: digests and sizes only, faster)' })
        .option('verify', { type: 'boolean', describe: 'hash every blob an oci: destination already holds before trusting it (by default blobs over 1 MiB are trusted by size)' })
        .option('jobs', { alias: 'j', type: 'number', default: publishDefaults.jobs, describe: 'blobs transferred at once' })
        .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout' })
        .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress output' })
        .option('progress', { choices: ['auto', 'tty', 'plain', 'none'] as const, default: 'auto' as const, describe: 'progress style on stderr' })
        .option('digest-file', { type: 'string', describe: 'write the manifest digest to this file' })
        .option('image-name-with-digest-file', { type: 'string', describe: 'write repo@digest (one per destination) to this file' })
        .option('image-name-tag-with-digest-file', { type: 'string', describe: 'write repo:tag@digest (one per tag) to this file' })
        .option('cache', { type: 'boolean', default: true, describe: 'use the digest cache ($XDG_CACHE_HOME/tarpush); --no-cache to skip it' })
        .check((a) => {
          const level = a['compression-level'];
          if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error('--compression-level must be 1..9');
          if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new Error('--jobs must be a positive integer');
          if (a.all && a.image) throw new Error('--all and --image cannot be combined');
          return true;
        }),
    ),
  );
  if (!args) return 0;
  if (args._.length < 1) throw new TarpushError('USAGE', 'missing <source> (an archive path, an OCI layout directory, or -); see tarpush push --help');
  if (args._.length > 2) throw new TarpushError('USAGE', `too many arguments: ${args._.slice(2).map((a) => printable(String(a))).join(' ')} (one source and one destination; more destinations with -d)`);
  const [source, positional] = args._.map(String) as [string, string | undefined];
  const destinations = [...(positional ? [positional] : []), ...repeatable(args.destination)];
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
    : args.progress === 'auto' ? (io.stderr.isTTY ? 'tty' : 'plain') : args.progress;
  const progress = progressRenderer(mode, io);
  const client = await clientOptions(args, io, { stdinTaken: source === '-', log: progress.clientEvent });
  const { publish } = await import('../publish/publish.js');
  let results: PublishResult[];
  try {
    results = await publish({
      source,
      destinations,
      tags,
      image: args.image,
      all: args.all,
      platforms: repeatable(args.platform),
      format: args.format as FormatOption,
      compression: args.compression as CompressionOption,
      compressionLevel: args['compression-level'],
      jobs: args.jobs,
      verifyDiffIds: args['verify-diff-ids'],
      verifyExisting: !!args.verify,
      client,
      cache: args.cache ? undefined : false,
      ...(source === '-' ? { stdin: io.stdin } : {}),
      onEvent: progress.listener,
    });
  } catch (err) {
    // The tag phase failed part-way: --json still says, per destination, which tags are live.
    if (args.json && err instanceof TarpushError && err.code === 'TAGS_INCOMPLETE' && Array.isArray(err.details.results)) {
      io.stdout.write(`${printableJson(jsonOf(err.details.results as PublishResult[], !!args.all, progress.retries(), err.toLine()))}\n`);
    }
    throw err;
  } finally {
    progress.end();
  }
  await writeOutputs(results, outputFiles);
  if (args.json) {
    io.stdout.write(`${printableJson(jsonOf(results, !!args.all, progress.retries()))}\n`);
  } else {
    for (const r of results) for (const ref of r.references.filter((x) => x.includes('@'))) io.stdout.write(`${ref}\n`);
  }
  return 0;
}

/**
 * The `--json` shape: one image → that image's object; `--all` → `{ images: [...] }`. Each
 * image: `digest`/`mediaType` (first destination), `references`, `blobs`, and `destinations`
 * with the digest each destination holds and every tag with `live`. `retries` counts the
 * requests repeated; `error` is set when the tag phase failed part-way.
 */
function jsonOf(results: PublishResult[], all: boolean, retries: number, error?: string): unknown {
  const images = results.map(({ digest, mediaType, references, blobs, destinations }) => ({ digest, mediaType, references, blobs, destinations }));
  const extra = { retries, ...(error ? { error } : {}) };
  return all ? { images, ...extra } : { ...images[0], ...extra };
}
