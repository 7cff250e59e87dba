import { TarpushError } from '../errors.js';
import { parseReference, withTag } from '../reference/index.js';
import { addTags } from '../remote/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const description = `Add tags to a manifest that is already in a registry, in the same repository.

The manifest <reference> names is read as stored and written again, byte for byte, under
each <tag>: the digest stays the same and no layer is copied. Prints
registry/repository:tag@sha256:… for every tag written. Existing tags of those names are
moved.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('tag <reference> <tag>...', argv, io, (y) =>
    withRegistryFlags(
      y
        .parserConfiguration({ 'parse-positional-numbers': false })
        .usage(`Usage: tarpush tag <reference> <tag>... [options]\n\n${description}`)
        .option('jobs', { alias: 'j', type: 'number', default: 4, describe: 'tags written at once' })
        .check((a) => {
          if (a._.length === 0) throw new Error('missing <reference> and <tag>');
          if (a._.length === 1) throw new Error('missing <tag>: name at least one tag to add');
          if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new Error('--jobs must be a positive integer');
          return true;
        }),
    ),
  );
  if (!args) return 0;
  const [source, ...tags] = args._.map(String) as [string, ...string[]];
  const ref = parseReference(source, { defaultTag: 'latest' });
  for (const tag of tags) withTag(ref, tag); // bad tags are usage errors before any request
  const result = await addTags(ref, tags, { clientOptions: await clientOptions(args, io), concurrency: args.jobs });
  for (const t of result.tagged) io.stdout.write(`${t.reference}\n`);
  if (result.failed.length > 0) {
    const first = result.failed[0]!.error;
    for (const f of result.failed.slice(1)) {
      io.stderr.write(`tarpush: tag ${f.tag} failed: ${f.error instanceof TarpushError ? f.error.toLine() : String(f.error)}\n`);
    }
    throw first;
  }
  return 0;
}
