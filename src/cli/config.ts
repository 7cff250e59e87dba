import { parseReference } from '../reference/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'config <reference> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Print the config blob of an image in a registry, byte for byte as stored (its
digest checked), for scripts: tarpush config reg/app:1.2 | jq .config.Env

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). A
multi-platform image needs --platform to say whose config is meant.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository[:tag|@digest]' })
        .option('platform', { type: 'string', describe: 'the config of this platform of a multi-platform image: os/arch[/variant]' }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference, { defaultTag: 'latest' });
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { rawConfig } = await import('../remote/raw.js');
  const config = await rawConfig(ref, {
    clientOptions: await clientOptions(args, io),
    ...(args.platform !== undefined ? { platform: args.platform } : {}),
  });
  io.stdout.write(config.raw);
  return 0;
}
