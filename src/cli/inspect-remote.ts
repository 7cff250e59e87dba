import { TarpushError } from '../errors.js';
import { formatReference, parseReference } from '../reference/index.js';
import { printableJson } from '../util/printable.js';
import type { CliIO } from './io.js';
import { formatImages } from './format-images.js';

import { clientOptions, type RegistryFlags } from './registry-options.js';

/**
 * `tarpush inspect <reference>`: describe an image in a registry, in the same JSON shape as
 * the archive branch of inspect (`{"images": [...]}`, one entry per platform), plus the
 * normalised `reference`. Only manifests and configs are read.
 */

export interface InspectRemoteOptions extends RegistryFlags {
  json?: boolean;
  /** os/arch[/variant]; at most one (an array, as inspect's parser may give, must hold one). */
  platform?: string | readonly string[];
}

/** Describe the image a registry reference names and print it; returns the exit status. */
export async function inspectRemote(refText: string, opts: InspectRemoteOptions, io: CliIO): Promise<number> {
  const ref = parseReference(refText, { defaultTag: 'latest' });
  const platforms = opts.platform === undefined ? [] : typeof opts.platform === 'string' ? [opts.platform] : [...opts.platform];
  if (platforms.length > 1) throw new TarpushError('USAGE', `inspect of a registry reference takes one --platform, got ${platforms.join(', ')}`);
  // Loaded after parsing: --help and usage errors do not pay for the HTTP stack.
  const { describeRemote } = await import('../remote/describe-remote.js');
  const images = await describeRemote(ref, {
    clientOptions: await clientOptions(opts, io),
    ...(platforms[0] !== undefined ? { platform: platforms[0] } : {}),
  });
  if (opts.json) io.stdout.write(`${printableJson({ reference: formatReference(ref), images })}\n`);
  else io.stdout.write(formatImages(images));
  return 0;
}
