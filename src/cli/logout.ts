import { parseRegistry } from '../reference/index.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';

const description = `Remove the credentials tarpush login (or docker login) saved for a registry: from the
credential helper the file names for it, and its entry in --authfile, else
$DOCKER_CONFIG/config.json, else ~/.docker/config.json. Other keys of the file are kept.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('logout <registry> [options]', argv, io, (y) =>
    y
      .epilogue(description)
      .command('$0 <registry>', false)
      .positional('registry', { type: 'string', demandOption: true, describe: 'host[:port] (docker.io for Docker Hub)' })
      .option('authfile', { type: 'string', describe: 'credentials file to edit (default: docker config.json)' }),
  );
  if (!args) return 0;
  const host = parseRegistry(args.registry);
  const { removeCredential } = await import('../registry/credentials/save-credential.js');
  const r = await removeCredential(host, { ...(args.authfile !== undefined ? { authfile: args.authfile } : {}), env: io.env });
  io.stdout.write(r.removed ? `removed the credentials of ${printable(host)} from ${printable(r.file)}\n` : `no credentials of ${printable(host)} in ${printable(r.file)}\n`);
  return 0;
}
