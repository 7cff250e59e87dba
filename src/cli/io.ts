import type { Readable, Writable } from 'node:stream';

/** The streams and environment a command runs with (tests pass their own). */
export interface CliIO {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

export const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  // Touching process.stdin opens a handle; only commands that read it should pay for that.
  get stdin() {
    return process.stdin;
  },
  env: process.env,
});

/** A verb module: parses its own argv and does its work through the library. */
export interface CommandModule {
  run(argv: string[], io: CliIO): Promise<number>;
}
