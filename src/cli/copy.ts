import { TarpushError } from '../errors.js';
import type { CliIO } from './io.js';
import { parseVerb, repeatable } from './parse.js';
import { runPublish, withPublishFlags } from './publish-command.js';

const description = `Copy an image (every platform of an index, unless --platform) from any place to others.

Places: a registry reference (registry/repo[:tag|@digest], also docker://…), oci:DIR[:tag],
oci-archive:FILE[:tag], docker-archive:FILE[:repo:tag], or an archive path (any format push
reads). Registry to registry streams blobs (no temp files) and mounts across repositories of
the same registry; manifests are copied byte for byte, so digests are kept (a --platform
filter makes a new index, said on stderr).

--referrers also copies what refers to each copied manifest (OCI 1.1 subject: signatures,
SBOMs, attestations), and what refers to those, up to 4 deep, as the source registry lists
them (its referrers API, or the sha256-<hex> fallback tag). They are written by digest after
their subjects. A manifest rewritten on the way (an index filtered by --platform) has no
referrers; its kept children keep theirs.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('copy <source> <destination>... [options]', argv, io, (y) =>
    withPublishFlags(y.epilogue(description)).option('referrers', { type: 'boolean', describe: 'copy the referrers (signatures, SBOMs) of every copied manifest too, after it' }),
    { ownPositionals: true },
  );
  if (!args) return 0;
  const [source, ...positional] = args._.map(String);
  const destinations = [...positional, ...repeatable(args.destination)];
  if (!source || destinations.length === 0) throw new TarpushError('USAGE', 'copy needs a source and at least one destination; see tarpush copy --help');
  return runPublish(args, io, { source, destinations, extra: { anySource: true, referrers: !!args.referrers } });
}
