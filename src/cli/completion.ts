import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';

// The CommonJS build, as parse.ts loads it (one yargs in the process).
const yargs = createRequire(import.meta.url)('yargs/yargs') as (argv: string[]) => Argv;

/** yargs' completion over the verb table: the script it prints calls `tarpush --get-yargs-completions …`. */
function completer(verbs: Record<string, { summary: string }>, argv: string[]): Argv {
  let y = yargs(argv).scriptName('tarpush').help(false).version(false).exitProcess(false);
  for (const [name, { summary }] of Object.entries(verbs)) y = y.command(name, summary);
  return y.completion('completion', false);
}

/** Run yargs with a parse callback: what it would log to the console comes back as text instead. */
async function output(y: Argv, argv: string[]): Promise<string> {
  let text = '';
  await y.parseAsync(argv, {}, (_err, _args, out) => {
    text = out;
  });
  return text;
}

/** The words that may come next: verb names after `tarpush`, then nothing (the shell completes file names). */
export async function complete(verbs: Record<string, { summary: string }>, words: string[], io: CliIO): Promise<number> {
  // words[0] is `tarpush` itself; one more word means the verb is being typed.
  if (words.length > 2) return 0;
  const text = await output(completer(verbs, ['--get-yargs-completions', ...words]), ['--get-yargs-completions', ...words]);
  if (text) io.stdout.write(`${text}\n`);
  return 0;
}

const description = `Print a shell completion script for tarpush (bash; zsh with bashcompinit).

  tarpush completion >> ~/.bashrc       (or: source <(tarpush completion))

It completes command names and, after a command, file names.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('completion', argv, io, (y) => y.epilogue(description));
  if (!args) return 0;
  const { verbs } = await import('./main.js');
  io.stdout.write(`${(await output(completer(verbs, ["completion"]), ["completion"])).trimEnd()}\n`);
  return 0;
}
