import { TarpushError } from '../errors.js';
import type { CliIO } from './io.js';
import { parseVerb, repeatable } from './parse.js';
import { runPublish, withPublishFlags } from './publish-command.js';

const description = `Copy an image (every platform of an index, unless --platform) from any place to others.

Places: a registry reference (registry/repo[:tag|@digest], also docker://…), oci:DIR[:tag],
oci-archive:FILE[:tag], docker-archive:FILE[:repo:tag], or an archive path (any format push
reads). Registry to registry streams blobs (no temp files) and mounts across repositories of
the same registry; manifests are copied byte for byte, so digests are kept (a --platform
filter makes a new index, said on stderr).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('copy <source> <destination>... [options]', argv, io, (y) => withPublishFlags(y.epilogue(description)));
  if (!args) return 0;
  const [source, ...positional] = args._.map(String);
  const destinations = [...positional, ...repeatable(args.destination)];
  if (!source || destinations.length === 0) throw new TarpushError('USAGE', 'copy needs a source and at least one destination; see tarpush copy --help');
  return runPublish(args, io, { source, destinations, extra: { anySource: true } });
}
