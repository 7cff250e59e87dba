import { TarpushError } from '../errors.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { runPublish, withPublishFlags } from './publish-command.js';

const description = `Build a multi-platform index from single-platform images.

  tarpush index create DST SRC... [-t TAG]...   a new index of the SRC images
  tarpush index append DST SRC...               DST's index (in the registry) plus the SRC images

Each SRC is any place holding one image: a kaniko tarball, a docker save, an OCI layout, a
registry reference. Its platform comes from its config (os, architecture, variant,
os.version); two sources of one platform are an error. The children and their blobs go to
DST first, the index last. --format docker writes a Docker manifest list (default: OCI).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('index <create|append> <destination> <source>... [options]', argv, io, (y) =>
    withPublishFlags(y.epilogue(description), { destinations: false, formats: ['oci', 'docker'] }),
    { ownPositionals: true },
  );
  if (!args) return 0;
  const [action, destination, ...sources] = args._.map(String);
  if (action !== 'create' && action !== 'append') throw new TarpushError('USAGE', `index needs "create" or "append" first (got ${JSON.stringify(action ?? '')}); see tarpush index --help`);
  if (!destination || sources.length === 0) throw new TarpushError('USAGE', `index ${action} needs a destination and at least one source; see tarpush index --help`);
  const format = args.format as 'oci' | 'docker';
  // An OCI index may hold the children as they are; a Docker manifest list wants Docker manifests.
  return runPublish({ ...args, format: format === 'docker' ? 'docker' : 'keep' }, io, {
    destinations: [destination],
    images: async (client) => {
      const { openIndexSources } = await import('../publish/build-index.js');
      return openIndexSources({ sources, append: action === 'append' ? destination : undefined, format, client });
    },
  });
}
