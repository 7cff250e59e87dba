import { parseReference } from '../reference/index.js';
import { resolveDigest } from '../remote/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const description = `Print the manifest digest (sha256:…) a registry reference points at.

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). For a
multi-platform image this is the digest of the index, the one to pin; --platform prints
the digest of that platform's manifest instead.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('digest <reference>', argv, io, (y) =>
    withRegistryFlags(
      y
        .parserConfiguration({ 'parse-positional-numbers': false })
        .usage(`Usage: tarpush digest <reference> [options]\n\n${description}`)
        .option('platform', { type: 'string', describe: 'digest of this platform of a multi-platform image: os/arch[/variant]' })
        .check((a) => {
          if (a._.length !== 1) throw new Error(a._.length === 0 ? 'missing <reference>' : `too many arguments: ${a._.slice(1).join(' ')}`);
          return true;
        }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(String(args._[0]), { defaultTag: 'latest' });
  const digest = await resolveDigest(ref, {
    clientOptions: await clientOptions(args, io),
    ...(args.platform !== undefined ? { platform: args.platform } : {}),
  });
  io.stdout.write(`${digest}\n`);
  return 0;
}

