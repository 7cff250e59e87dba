import { ExitCode, TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';

/**
 * `CODE: message` (or the bare message of an unexpected error), escaped: whatever a
 * message quotes from an archive, a registry or a helper, it prints as ONE line and sends
 * the terminal no control sequence. A safety net: messages should escape what they quote
 * already, and printable() leaves escaped text as it is.
 */
export function errorLine(err: unknown): string {
  if (err instanceof TarpushError) return printable(err.toLine());
  return printable(err instanceof Error ? err.message : String(err));
}

/**
 * Errors only a bug (or a library caller's misuse, such as a concurrency of 0) raises: they
 * say nothing about the registry or the input, so they do not exit as if either failed.
 */
const isProgrammingError = (err: unknown): err is Error => err instanceof RangeError || err instanceof TypeError || err instanceof ReferenceError;

/**
 * Print an error as one line on stderr and return the exit status it maps to: a
 * TarpushError's own; 70 with `internal error:` for a programming error; 1 for any other
 * untyped failure. TARPUSH_DEBUG=1 adds the stack of untyped errors.
 */
export function reportError(err: unknown, io: CliIO): number {
  const internal = isProgrammingError(err);
  io.stderr.write(`tarpush: ${internal ? 'internal error: ' : ''}${errorLine(err)}\n`);
  if (err instanceof TarpushError) return err.exitCode;
  if (io.env.TARPUSH_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack.split('\n').map(printable).join('\n')}\n`);
  return internal ? ExitCode.internal : ExitCode.registry;
}
