import { TarpushError } from '../errors.js';
import { parsePlace } from '../places/parse.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { runPublish, withPublishFlags } from './publish-command.js';

const description = `Save an image from any place (a registry reference, an OCI layout, an archive) to a tar file.

--format docker (default) writes what docker load and podman load read (one platform per
image: a multi-platform source needs --platform, or the host's platform is taken, with a
note); --format oci writes an OCI layout archive (oci-archive:, every platform). The file
appears under its name only when everything is written.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('save <source> <file> [options]', argv, io, (y) =>
    withPublishFlags(y.epilogue(description), { destinations: false, formats: ['docker', 'oci'] }),
    { ownPositionals: true },
  );
  if (!args) return 0;
  if (args._.length !== 2) throw new TarpushError('USAGE', 'save needs a source and a file; see tarpush save --help');
  const [source, file] = args._.map(String) as [string, string];
  const src = parsePlace(source, 'source');
  // A docker archive names its image; a registry reference gives the name, else the image goes untagged.
  const name = src.kind === 'registry' && src.ref.tag ? `:${source.replace(/^docker:\/\//, '')}` : '';
  const destination = args.format === 'oci' ? `oci-archive:${file}${src.kind === 'registry' && src.ref.tag ? `:${src.ref.tag}` : ''}` : `docker-archive:${file}${name}`;
  return runPublish(args, io, { source, destinations: [destination], extra: { anySource: true, format: 'keep' } });
}
