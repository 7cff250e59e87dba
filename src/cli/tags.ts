import { parseRepository } from '../reference/index.js';
import { printable, printableJson } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'tags <repository> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `List the tags of a repository, one per line.

<repository> is registry/repository, without tag or digest. Tags are printed in the
order the registry lists them (as skopeo list-tags does): not sorted, pipe through sort
if you need an order. Pagination is followed. A repository without tags prints nothing
("tags": [] with --json).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <repository>', false)
        .positional('repository', { type: 'string', demandOption: true, describe: 'registry/repository' })
        .option('json', { type: 'boolean', describe: 'print {"name": "registry/repository", "tags": [...]}' }),
    ),
  );
  if (!args) return 0;
  const repo = parseRepository(args.repository);
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { listTags } = await import('../remote/list-tags.js');
  const list = await listTags(repo, { clientOptions: await clientOptions(args, io) });
  // Names as the registry sent them, escaped: one tag is one line, and no control reaches the terminal.
  if (args.json) io.stdout.write(`${printableJson(list)}\n`);
  else if (list.tags.length > 0) io.stdout.write(`${list.tags.map(printable).join('\n')}\n`);
  return 0;
}
