import type { Argv } from 'yargs';
import { TarpushError } from '../errors.js';
import { clientDefaults, type ClientOptions } from '../registry/options.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { clientLines } from './progress/client-lines.js';

/** Auth and TLS flags shared by every verb that talks to a registry. */
export interface RegistryFlags {
  username?: string;
  'password-stdin'?: boolean;
  authfile?: string;
  insecure?: boolean;
  'plain-http'?: boolean;
  'ca-file'?: string;
  retries?: number;
  timeout?: number;
  verbose?: boolean;
}

export function withRegistryFlags<T>(y: Argv<T>): Argv<T & RegistryFlags> {
  return y
    .option('username', { alias: 'u', type: 'string', describe: 'registry user name (password from --password-stdin or TARPUSH_PASSWORD)' })
    .option('password-stdin', { type: 'boolean', describe: 'read the password (or token) from standard input' })
    .option('authfile', { type: 'string', describe: 'credentials file (docker config.json or containers auth.json)' })
    .option('insecure', { type: 'boolean', describe: 'do not verify the registry TLS certificate (still https: unlike kaniko and crane, plain HTTP needs --plain-http)' })
    .option('plain-http', { type: 'boolean', describe: 'use http:// (loopback registries fall back to it on their own)' })
    .option('ca-file', { type: 'string', describe: 'extra CA certificate (PEM) to trust' })
    .option('retries', { type: 'number', describe: `times a failed request is repeated (default ${clientDefaults.retries})` })
    .option('timeout', { type: 'number', describe: `seconds a request may go without any byte from the registry (default ${clientDefaults.timeoutMs / 1000})` })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'print each registry request (method, URL without credentials, status, time) on stderr' })
    .check((a) => {
      const r = a.retries as number | undefined;
      const t = a.timeout as number | undefined;
      if (r !== undefined && (!Number.isInteger(r) || r < 0)) throw new Error('--retries must be a whole number ≥ 0');
      if (t !== undefined && !(t > 0)) throw new Error('--timeout must be a number of seconds > 0');
      return true;
    })
    .group(['username', 'password-stdin', 'authfile', 'insecure', 'plain-http', 'ca-file', 'retries', 'timeout', 'verbose'], 'Registry:') as Argv<T & RegistryFlags>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The client options of the flags. `log` is the verb's own view of client events (publish's
 * progress); without one, retries and fallbacks get a line each on stderr, and with --verbose
 * every request too.
 */
export async function clientOptions(flags: RegistryFlags, io: CliIO, opts: { stdinTaken?: boolean; log?: ClientOptions['log'] } = {}): Promise<ClientOptions> {
  let password: string | undefined;
  if (flags['password-stdin']) {
    if (opts.stdinTaken) throw new TarpushError('USAGE', '--password-stdin cannot be used when the archive is read from stdin (-)');
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    if (!password) throw new TarpushError('USAGE', '--password-stdin: standard input was empty');
  }
  if (flags.username && password === undefined) password = io.env.TARPUSH_PASSWORD;
  if (flags.username && password === undefined) {
    throw new TarpushError('USAGE', '--username needs a password: use --password-stdin or set TARPUSH_PASSWORD');
  }
  return {
    username: flags.username,
    password,
    authfile: flags.authfile,
    insecure: flags.insecure,
    plainHttp: flags['plain-http'],
    caFile: flags['ca-file'],
    env: io.env,
    ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout * 1000 } : {}),
    log: opts.log ?? stderrLog(io, !!flags.verbose),
  };
}

function stderrLog(io: CliIO, verbose: boolean): NonNullable<ClientOptions['log']> {
  return clientLines(verbose, (line) => io.stderr.write(`${printable(line)}\n`));
}
