import { existsSync } from 'node:fs';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb, repeatable } from './parse.js';
import { runPublish, withPublishFlags } from './publish-command.js';

const description = `Positionals:
  source       archive path, OCI layout directory, or - (stdin)
  destination  registry/repo[:tag], oci:DIR[:tag], oci-archive:FILE[:tag],
               docker-archive:FILE[:repo:tag]

Publish an image archive to a registry or an OCI layout directory.

<source> is a kaniko --tar-path tarball, a docker save archive (any Docker version), an OCI
image layout (archive or directory), any of them compressed (gzip, zstd, xz, bzip2), or -
for standard input. <destination> is a registry reference (registry/repo[:tag]),
oci:DIR[:tag], oci-archive:FILE[:tag] or docker-archive:FILE[:repo:tag]. Without a
destination the image goes to its own RepoTags (printed first). With --format keep a
registry gets the archive's own manifest (a kaniko tarball keeps the digest the build
reported) and an OCI layout gets an OCI manifest (layout readers skip others).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('push <source> [destination] [options]', argv, io, (y) =>
    withPublishFlags(
      y
        // The description goes in the epilogue: yargs 17 wraps a multi-line usage as one run.
        .epilogue(description)
        .option('image', { type: 'string', describe: 'pick one image of a multi-image archive: RepoTag, ref name or index' })
        .option('all', { type: 'boolean', describe: 'push every image of the archive under its own tag' })
        .check((a) => {
          if (a.all && a.image) throw new Error('--all and --image cannot be combined');
          return true;
        }),
    ),
    { ownPositionals: true },
  );
  if (!args) return 0;
  if (args._.length < 1) throw new TarpushError('USAGE', 'missing <source> (an archive path, an OCI layout directory, or -); see tarpush push --help');
  if (args._.length > 2) throw new TarpushError('USAGE', `too many arguments: ${args._.slice(2).map((a) => printable(String(a))).join(' ')} (one source and one destination; more destinations with -d)`);
  const [source, positional] = args._.map(String) as [string, string | undefined];
  if (positional !== undefined) checkOrder(source, positional);
  return runPublish(args, io, {
    source,
    destinations: [...(positional ? [positional] : []), ...repeatable(args.destination)],
    extra: { image: args.image, all: args.all },
    several: !!args.all,
  });
}

const ARCHIVE_NAME = /\.(tar(\.\w+)?|tgz)$/;
const PLACE_PREFIX = /^(oci|oci-archive|docker-archive|ocidir|docker):/;

/**
 * `push REGISTRY/REF archive.tar`: the arguments swapped. Said before anything is opened
 * (the source would otherwise fail as a missing file named like a reference).
 */
function checkOrder(source: string, destination: string): void {
  if (source === '-' || existsSync(source) || PLACE_PREFIX.test(source) || PLACE_PREFIX.test(destination)) return;
  if (!(existsSync(destination) || ARCHIVE_NAME.test(destination))) return;
  throw new TarpushError('USAGE', `${printable(source)} is not a file and ${printable(destination)} looks like an archive: the source comes first; did you mean tarpush push ${printable(destination)} ${printable(source)}?`);
}
