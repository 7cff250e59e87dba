import { parseReference } from '../reference/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'manifest <reference> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Print the manifest a registry reference points at, byte for byte as stored
(its digest checked), for scripts: tarpush manifest reg/app:1.2 | jq .

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). For a
multi-platform image this is the index; --platform prints that platform's manifest.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository[:tag|@digest]' })
        .option('platform', { type: 'string', describe: 'the manifest of this platform of a multi-platform image: os/arch[/variant]' }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference, { defaultTag: 'latest' });
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { rawManifest } = await import('../remote/raw.js');
  const m = await rawManifest(ref, {
    clientOptions: await clientOptions(args, io),
    ...(args.platform !== undefined ? { platform: args.platform } : {}),
  });
  io.stdout.write(m.raw);
  return 0;
}
