import type { Writable } from 'node:stream';
import { TarpushError } from '../errors.js';
import { formatReference, parseReference } from '../reference/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags } from './registry-options.js';

const usage = 'blob <reference@digest> [options]';

// In the epilogue: yargs 17 wraps a multi-line usage text as one run of characters.
const description = `Stream a blob (a layer, a config) of a repository to standard output:
tarpush blob reg/app@sha256:… | tar tz

The bytes are checked against the digest as they pass; since they are written as they
arrive, a mismatch is reported (error line, exit status 1) after the bytes. A download
that breaks off is resumed where it stopped.`;

/** Write a chunk, waiting while the reader is behind; a closed reader (`| head`) is an error. */
function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (e: Error): void => reject(new TarpushError('USAGE', `standard output: ${e.message}`));
    out.once('error', failed);
    const ok = out.write(chunk, (err) => {
      if (err) failed(err);
    });
    const done = (): void => {
      out.off('error', failed);
      resolve();
    };
    if (ok) done();
    else out.once('drain', done);
  });
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = await parseVerb(usage, argv, io, (y) =>
    withRegistryFlags(
      y
        .epilogue(description)
        .command('$0 <reference>', false)
        .positional('reference', { type: 'string', demandOption: true, describe: 'registry/repository@sha256:… of the blob' }),
    ),
  );
  if (!args) return 0;
  const ref = parseReference(args.reference);
  if (ref.digest === undefined) throw new TarpushError('USAGE', `${formatReference(ref)}: name the blob by digest (registry/repository@sha256:…)`);
  if (ref.tag !== undefined) throw new TarpushError('USAGE', `${formatReference(ref)}: a blob is named by digest only, not with a tag`);
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { streamBlob } = await import('../remote/raw.js');
  await streamBlob(ref, (chunk) => writeChunk(io.stdout, chunk), { clientOptions: await clientOptions(args, io) });
  return 0;
}
