import { ExitCode } from '../errors.js';
import { processIO, type CliIO, type CommandModule } from './io.js';
import { reportError } from './report-error.js';
import { closest } from './suggest.js';

/**
 * Verb table. Each verb lives in its own module and is imported only when used, so a
 * `tarpush tags …` in a loop does not pay for the push pipeline.
 */
export const verbs: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  push: { summary: 'publish an archive (or OCI layout) to a registry or an OCI layout directory', load: () => import('./push.js') },
  copy: { summary: 'copy an image from any place (registry, layout, archive) to others', load: () => import('./copy.js') },
  save: { summary: 'save an image from any place to a docker-archive or oci-archive tar', load: () => import('./save.js') },
  index: { summary: 'build a multi-platform index from single-platform images (create, append)', load: () => import('./index-cmd.js') },
  inspect: { summary: 'describe the images in an archive or a registry reference', load: () => import('./inspect.js') },
  digest: { summary: 'print the manifest digest of a registry reference', load: () => import('./digest.js') },
  tags: { summary: 'list the tags of a repository', load: () => import('./tags.js') },
  catalog: { summary: 'list the repositories of a registry', load: () => import('./catalog.js') },
  tag: { summary: 'add tags to an existing manifest without moving blobs', load: () => import('./tag.js') },
  delete: { summary: 'delete a manifest (by tag or digest)', load: () => import('./delete.js') },
  manifest: { summary: 'print the raw manifest of a registry reference (digest checked)', load: () => import('./manifest.js') },
  config: { summary: 'print the raw config blob of an image in a registry (digest checked)', load: () => import('./config.js') },
  blob: { summary: 'stream a blob of a repository to stdout (digest checked, resumed on breaks)', load: () => import('./blob.js') },
  login: { summary: 'check credentials against a registry and save them (docker config.json)', load: () => import('./login.js') },
  logout: { summary: 'remove the saved credentials of a registry', load: () => import('./logout.js') },
  completion: { summary: 'print a bash/zsh completion script (tarpush completion >> ~/.bashrc)', load: () => import('./completion.js') },
};


export function usage(): string {
  const width = Math.max(...Object.keys(verbs).map((v) => v.length));
  const lines = Object.entries(verbs).map(([v, { summary }]) => `  ${v.padEnd(width)}  ${summary}`);
  return [
    'Usage: tarpush <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `tarpush <command> --help` for the options of a command.',
    'Exit status: 0 ok, 1 registry/network failure, 2 bad input or usage, 3 authentication/authorisation, 70 internal error.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    (verb === undefined ? io.stderr : io.stdout).write(usage());
    return verb === undefined ? ExitCode.input : ExitCode.ok;
  }
  const entry = verbs[verb];
  if (!entry) return unknownVerb(verb, rest, io);
  try {
    const mod = await entry.load();
    return await mod.run(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/** One line: the verb nearest to what was typed, or where the list of verbs is. */
async function unknownVerb(verb: string, rest: string[], io: CliIO): Promise<number> {
  if (verb === '--get-yargs-completions') {
    // What the completion script asks (see completion.ts): the words typed so far.
    const { complete } = await import('./completion.js');
    return complete(verbs, rest, io);
  }
  const { printable } = await import('../util/printable.js');
  const shown = JSON.stringify(printable(verb));
  const near = verb.startsWith('-') ? undefined : closest(verb, Object.keys(verbs));
  const hint = near ? ` — did you mean ${near}?` : verb.startsWith('-') ? ': a command comes first (tarpush <command> [options]); see tarpush --help' : '; see tarpush --help';
  io.stderr.write(`tarpush: USAGE: unknown command ${shown}${hint}\n`);
  return ExitCode.input;
}
