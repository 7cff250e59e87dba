import { parseReference } from '../reference/index.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'digest <reference> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Print the manifest digest (sha256:…) a registry reference points at.

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). For a
multi-platform image this is the digest of the index, the one to pin; --platform prints
the digest of that platform's manifest instead.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository[:tag|@digest]' })
        .option('platform', { type: 'string', describe: 'digest of this platform of a multi-platform image: os/arch[/variant]' }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference, { defaultTag: 'latest' });
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { resolveDigest } = await import('../remote/resolve-digest.js');
  const digest = await resolveDigest(ref, {
    clientOptions: await clientOptions(args, io),
    ...(args.platform !== undefined ? { platform: args.platform } : {}),
  });
  io.stdout.write(`${printable(digest)}\n`);
  return 0;
}
