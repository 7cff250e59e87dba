import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { usageErrorLine } from './usage-errors.js';

// yargs' ESM build wraps help with a stub that cuts words at the column; its CommonJS build
// wraps at word boundaries (wrap-ansi). Same yargs, same API: load that one.
const yargs = createRequire(import.meta.url)('yargs/yargs') as (argv: string[]) => Argv;

/**
 * A yargs parser for one verb that never exits the process and turns usage mistakes into
 * TarpushError('USAGE') (exit 2) of one line. `--help` prints to stdout and yields `undefined`.
 */
/** yargs-parser turns a lone `-` (stdin) into '' or true; it travels under this name instead. */
const STDIN_ARG = '\u0000stdin';

function restoreStdin(v: unknown): unknown {
  if (v === STDIN_ARG) return '-';
  if (Array.isArray(v)) return v.map(restoreStdin);
  return v;
}

/** Help wraps at the terminal's width (80 when not a terminal), never wider than 100. */
export function helpWidth(io: CliIO): number {
  const cols = io.stdout.isTTY ? io.stdout.columns : undefined;
  return Math.max(40, Math.min(100, cols ?? 80));
}

/** Environment variables every verb reads: in each --help epilogue (and the README). */
export const ENVIRONMENT_HELP = `Environment: TARPUSH_USERNAME and TARPUSH_PASSWORD (credentials; TARPUSH_PASSWORD
alone goes with --username), TARPUSH_NO_CACHE=1 (no digest cache on disk),
TARPUSH_CACHE_DIR (where it lives), TARPUSH_DEBUG=1 (stack traces of unexpected errors),
DOCKER_CONFIG and REGISTRY_AUTH_FILE (credential files), HTTPS_PROXY, HTTP_PROXY, NO_PROXY.`;

/**
 * Help text is written with line breaks for the source; yargs wraps it to the terminal. So a
 * paragraph becomes one line (yargs breaks it at words), and an indented block stays as written.
 */
export function reflow(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => (/^\s/m.test(p) ? p : p.split('\n').join(' ')))
    .join('\n\n');
}

function withReflow(y: Argv): Argv {
  const epilogue = y.epilogue.bind(y);
  // Every verb's epilogue goes through reflow(): one rule for all help text.
  (y as { epilogue: (t: string) => Argv }).epilogue = (t: string) => epilogue(reflow(t));
  return y;
}

export async function parseVerb<T>(
  verb: string,
  argv: string[],
  io: CliIO,
  define: (y: Argv) => Argv<T>,
  /** The verb reads its positionals from `_` itself (push, copy, save, index); else extras there are a usage error. */
  opts: { ownPositionals?: boolean } = {},
): Promise<(T & { _: (string | number)[] }) | undefined> {
  let helped = false;
  argv = argv.map((a) => (a === '-' ? STDIN_ARG : a));
  const y = define(
    withReflow(yargs(argv))
      .scriptName('tarpush')
      .usage(`Usage: tarpush ${verb}`)
      .help('help')
      .alias('help', 'h')
      .version(false)
      .strictOptions()
      // Tags such as 1.0 or 010 must stay strings.
      .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': true })
      .exitProcess(false)
      .wrap(helpWidth(io))
      // Named first so the positionals, then the verb's own options, come before the
      // Registry group in --help (yargs lists groups in the order they are first named).
      .group([], 'Positionals:')
      .group(['help', 'version'], 'Options:'),
  )
    .epilogue(`\n${reflow(ENVIRONMENT_HELP)}`)
    .option('version', { type: 'boolean', describe: 'print the tarpush version and exit' })
    .fail((msg, err) => {
      throw err instanceof TarpushError ? err : new TarpushError('USAGE', usageErrorLine(msg || (err?.message ?? 'invalid arguments'), `tarpush ${verb}`));
    });
  const parsed = await y.parseAsync(argv, {}, (_err, _a, output) => {
    if (output) {
      helped = true;
      io.stdout.write(`${output}\n`);
    }
  });
  if (helped) return undefined;
  if ((parsed as { version?: boolean }).version) {
    const { TARPUSH_VERSION } = await import('../registry/options.js');
    io.stdout.write(`${TARPUSH_VERSION}\n`);
    return undefined;
  }
  for (const [k, v] of Object.entries(parsed)) (parsed as Record<string, unknown>)[k] = restoreStdin(v);
  const extra = (parsed as { _: (string | number)[] })._;
  if (!opts.ownPositionals && extra.length > 0) {
    // yargs leaves what the verb's declared positionals did not take in `_`: said, never dropped.
    throw new TarpushError('USAGE', `too many arguments: ${quoted(extra)}; see tarpush ${verb.split(' ')[0]} --help`);
  }
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

/** `"a" "b"`: positionals quoted for a message. */
export const quoted = (items: readonly (string | number)[]): string => items.map((a) => JSON.stringify(printable(String(a)))).join(' ');
