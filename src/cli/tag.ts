import { TarpushError } from '../errors.js';
import { formatReference, parseReference, withTag, type Reference } from '../reference/index.js';
import { printable } from '../util/printable.js';
import { errorLine } from './report-error.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'tag <reference> <tag>... [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Add tags to a manifest that is already in a registry, in the same repository.

The manifest <reference> names is read as stored and written again, byte for byte, under
each <tag>: the digest stays the same and no layer is copied. Prints
registry/repository:tag@sha256:… for every tag written. Existing tags of those names are
moved.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference> <tags..>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository[:tag|@digest] of the manifest' })
        .positional('tags', { type: 'string', array: true, demandOption: true, describe: 'tags to add (just the tag: v2, latest)' })
        .option('jobs', { alias: 'j', type: 'number', describe: 'tags written at once (default 32)' })
        .check((a) => {
          if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) throw new Error('--jobs must be a positive integer');
          return true;
        }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference, { defaultTag: 'latest' });
  const tags = args.tags.map(String);
  for (const tag of tags) checkTagWord(ref, tag);
  for (const tag of tags) withTag(ref, tag); // bad tags are usage errors before any request
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { addTags } = await import('../remote/add-tags.js');
  const result = await addTags(ref, tags, { clientOptions: await clientOptions(args, io), concurrency: args.jobs });
  for (const t of result.tagged) io.stdout.write(`${printable(t.reference)}\n`);
  if (result.failed.length > 0) {
    // The first failure is reported (and sets the exit status) by the caller; the others here.
    for (const f of result.failed.slice(1)) {
      io.stderr.write(`tarpush: tag ${printable(f.tag)}: ${errorLine(f.error)}\n`);
    }
    throw result.failed[0]!.error;
  }
  return 0;
}

/**
 * `tag repo:1 repo:2` is docker's habit (`docker tag SOURCE TARGET`): here each word after the
 * reference is a bare tag, so a reference there gets what was probably meant.
 */
function checkTagWord(ref: Reference, word: string): void {
  if (!word.includes('/') && !word.includes(':') && !word.includes('@')) return;
  const shown = printable(word);
  let target: Reference;
  try {
    target = parseReference(word);
  } catch {
    throw new TarpushError('USAGE', `tag ${shown}: each word after the reference is a bare tag (e.g. v2, latest)`);
  }
  if (target.registry === ref.registry && target.repository === ref.repository && target.tag && !target.digest) {
    throw new TarpushError('USAGE', `tag ${shown}: tags are bare words here; did you mean tarpush tag ${printable(ref.original)} ${printable(target.tag)}?`);
  }
  const source = printable(formatReference(ref));
  throw new TarpushError('USAGE', `tag ${shown}: tarpush tag adds tags in the same repository (bare words, e.g. v2); to put ${source} under another name use tarpush copy ${source} ${shown}`);
}
