import type { CliIO } from './io.js';
import { runRaw } from './raw-command.js';

const description = `Print the config blob of an image in a registry, byte for byte as stored (its
digest checked), for scripts: tarpush config reg/app:1.2 | jq .config.Env

<reference> is registry/repository[:tag|@digest] (tag defaults to latest). A
multi-platform image needs --platform to say whose config is meant.`;

export const run = (argv: string[], io: CliIO): Promise<number> =>
  runRaw('config', argv, io, { description, platform: 'the config of this platform of a multi-platform image: os/arch[/variant]' });
