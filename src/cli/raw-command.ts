import { parseReference } from '../reference/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

/** `manifest` and `config`: one reference in, raw bytes (digest checked) out, --platform for an index. */
export async function runRaw(what: 'manifest' | 'config', argv: string[], io: CliIO, text: { description: string; platform: string }): Promise<number> {
  const args = await parseVerb(`${what} <reference> [options]`, argv, io, (y) =>
    withRegistryFlags(
      y
        // In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
        .epilogue(text.description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository[:tag|@digest]' })
        .option('platform', { type: 'string', describe: text.platform }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference, { defaultTag: 'latest' });
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { rawConfig, rawManifest } = await import('../remote/raw.js');
  const opts = { clientOptions: await clientOptions(args, io), ...(args.platform !== undefined ? { platform: args.platform } : {}) };
  const got = what === 'config' ? await rawConfig(ref, opts) : await rawManifest(ref, opts);
  io.stdout.write(got.raw);
  return 0;
}
