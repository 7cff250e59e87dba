import { TarpushError } from '../errors.js';
import type { ClientOptions } from '../registry/index.js';
import { parseRegistry } from '../reference/index.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const description = `Check a user name and password (or token) against a registry, then save them where docker
and tarpush look for them, as docker login and crane auth login do.

The password comes from --password-stdin or TARPUSH_PASSWORD, never the command line. The
file is --authfile, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json; when that
file names a credential helper for the registry (credHelpers) or for all (credsStore), the
secret goes to docker-credential-<name> and the file keeps an empty entry. Otherwise the
file gets auths.<registry>.auth (base64 of user:password). Other keys of the file are kept;
it is written whole (mode 0600) and renamed into place. Wrong credentials are refused and
nothing is written.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb('login <registry> [options]', argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <registry>', false)
        .positional('registry', { type: 'string', demandOption: true, describe: 'host[:port] (docker.io for Docker Hub)' }),
    ),
  );
  if (!args) return 0;
  const host = parseRegistry(args.registry);
  const username = args.username ?? io.env.TARPUSH_USERNAME;
  if (!username) throw new TarpushError('USAGE', 'login needs a user name: -u USER (password from --password-stdin or TARPUSH_PASSWORD)');
  const client = await clientOptions({ ...args, username }, io);
  if (!client.password) throw new TarpushError('USAGE', 'login needs a password: --password-stdin or TARPUSH_PASSWORD');
  await checkLogin(host, { ...client, username, credentialHosts: [host] });
  const { saveCredential } = await import('../registry/credentials/save-credential.js');
  const saved = await saveCredential(host, { username, password: client.password }, { authfile: args.authfile, env: io.env });
  io.stdout.write(`logged in to ${printable(host)} as ${printable(username)}; saved in ${printable(saved.where)}\n`);
  return 0;
}

/**
 * `GET /v2/` with these credentials and nothing else: Basic registries check them there, token
 * registries when the token server hands out a token for them. A refusal is the usual
 * CREDENTIALS_INVALID error, before anything is written.
 */
async function checkLogin(host: string, client: ClientOptions): Promise<void> {
  const { RegistryClient } = await import('../registry/index.js');
  const c = new RegistryClient(host, client);
  try {
    const resp = await c.request({ method: 'GET', path: '/v2/', scopes: [], retry: 'idempotent', what: `login ${host}` });
    if (resp.status < 200 || resp.status >= 300) throw await c.failure(resp, `login ${host}`, 'GET');
    await resp.body.dump();
  } finally {
    await c.close();
  }
}
