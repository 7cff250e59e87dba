import { parseRegistry } from '../reference/index.js';
import { CATALOG_PAGE_MAX } from '../remote/list-catalog.js';
import { printable, printableJson } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'catalog <registry> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `List the repositories of a registry (GET /v2/_catalog), one per line.

<registry> is host[:port] (a URL such as https://host/ is accepted too). Pagination is
followed. Many hosted registries (Docker Hub, GHCR, ECR) do not offer the catalog, or only
to administrators.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <registry>', false)
        .positional('registry', { type: 'string', demandOption: true, describe: 'host[:port]' })
        .option('json', { type: 'boolean', describe: 'print {"registry": "host", "repositories": [...]}' })
        .option('page-size', { type: 'number', describe: `repositories per request (1-${CATALOG_PAGE_MAX}; default: the registry's)` })
        .check((a) => {
          const n = a['page-size'];
          if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > CATALOG_PAGE_MAX)) throw new Error(`--page-size must be an integer from 1 to ${CATALOG_PAGE_MAX}`);
          return true;
        }),
    ),
  );
  if (!args) return 0;
  const registry = parseRegistry(args.registry);
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { listCatalog } = await import('../remote/list-catalog.js');
  const catalog = await listCatalog(registry, {
    clientOptions: await clientOptions(args, io),
    ...(args['page-size'] !== undefined ? { pageSize: args['page-size'] } : {}),
  });
  // Names as the registry sent them, escaped: one repository is one line, and no control reaches the terminal.
  if (args.json) io.stdout.write(`${printableJson(catalog)}\n`);
  else if (catalog.repositories.length > 0) io.stdout.write(`${catalog.repositories.map(printable).join('\n')}\n`);
  return 0;
}
