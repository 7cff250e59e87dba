import { ExitCode, TarpushError } from '../errors.js';
import type { CliIO } from './io.js';

/** Print an error as one line on stderr and return the exit status it maps to. */
export function reportError(err: unknown, io: CliIO): number {
  if (err instanceof TarpushError) {
    io.stderr.write(`tarpush: ${err.toLine()}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`tarpush: ${msg}\n`);
  if (io.env.TARPUSH_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return ExitCode.registry;
}
