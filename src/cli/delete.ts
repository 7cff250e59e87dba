import { parseReference } from '../reference/index.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'delete <reference> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Delete a manifest from a registry; prints the digest deleted.

<reference> is registry/repository:tag or registry/repository@sha256:…. A tag is first
resolved to its digest and the manifest is deleted by digest (registries refuse deleting
by tag). Warning: EVERY tag pointing at that manifest disappears with it, not only the
one named.
Layers are freed later by the registry's garbage collection. Registries with deletion
disabled answer UNSUPPORTED (exit 1).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository:tag or registry/repository@digest' }),
    ),
  );
  if (!args) return 0;
  // No default tag: deleting must name what it deletes (deleteReference refuses otherwise).
  const ref = parseReference(args.reference);
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { deleteReference } = await import('../remote/delete-ref.js');
  const result = await deleteReference(ref, { clientOptions: await clientOptions(args, io) });
  io.stdout.write(`${printable(result.digest)}\n`);
  return 0;
}
