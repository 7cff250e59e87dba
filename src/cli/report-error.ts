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

/** Print an error as one line on stderr and return the exit status it maps to. */
export function reportError(err: unknown, io: CliIO): number {
  io.stderr.write(`tarpush: ${errorLine(err)}\n`);
  if (err instanceof TarpushError) return err.exitCode;
  if (io.env.TARPUSH_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack.split('\n').map(printable).join('\n')}\n`);
  return ExitCode.registry;
}
