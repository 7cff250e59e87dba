import type { CliIO } from './io.js';
import { runRaw } from './raw-command.js';

const description = `Print the manifest a registry reference points at, byte for byte as stored
(its digest checked), for scripts: tarpush manifest reg/app:1.2 | jq .

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). For a
multi-platform image this is the index; --platform prints that platform's manifest.`;

export const run = (argv: string[], io: CliIO): Promise<number> =>
  runRaw('manifest', argv, io, { description, platform: 'the manifest of this platform of a multi-platform image: os/arch[/variant]' });
