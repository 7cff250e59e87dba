import yargs, { type Argv } from 'yargs';
import { TarpushError } from '../errors.js';
import type { CliIO } from './io.js';

/**
 * A yargs parser for one verb that never exits the process and turns usage mistakes into
 * TarpushError('USAGE') (exit 2). `--help` prints to stdout and yields `undefined`.
 */
/** yargs-parser turns a lone `-` (stdin) into '' or true; it travels under this name instead. */
const STDIN_ARG = '\u0000stdin';

function restoreStdin(v: unknown): unknown {
  if (v === STDIN_ARG) return '-';
  if (Array.isArray(v)) return v.map(restoreStdin);
  return v;
}

export async function parseVerb<T>(
  verb: string,
  argv: string[],
  io: CliIO,
  define: (y: Argv) => Argv<T>,
): Promise<(T & { _: (string | number)[] }) | undefined> {
  let helped = false;
  argv = argv.map((a) => (a === '-' ? STDIN_ARG : a));
  const y = define(
    yargs(argv)
      .scriptName('tarpush')
      .usage(`Usage: tarpush ${verb}`)
      .help('help')
      .alias('help', 'h')
      .version(false)
      .strictOptions()
      // Tags such as 1.0 or 010 must stay strings.
      .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': true })
      .exitProcess(false)
      .wrap(Math.min(100, io.stdout.columns ?? 100)),
  ).fail((msg, err) => {
    throw err instanceof TarpushError ? err : new TarpushError('USAGE', msg || (err?.message ?? 'invalid arguments'));
  });
  const parsed = await y.parseAsync(argv, {}, (_err, _a, output) => {
    if (output) {
      helped = true;
      io.stdout.write(`${output}\n`);
    }
  });
  if (helped) return undefined;
  for (const [k, v] of Object.entries(parsed)) (parsed as Record<string, unknown>)[k] = restoreStdin(v);
  return parsed as T & { _: (string | number)[] };
}

/**
 * A flag that may be given several times, one value each (`-t a -t b`), as crane, skopeo and
 * docker take them: declared as a plain string option (never `array: true`, which would
 * swallow the positionals after it), collected here.
 */
export function repeatable(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
