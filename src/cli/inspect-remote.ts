import { TarpushError } from '../errors.js';
import type { ImageDescription } from '../image/describe.js';
import { formatReference, parseReference } from '../reference/index.js';
import { platformText } from '../remote/index.js';
import type { CliIO } from './io.js';
import { parseVerb } from './parse.js';
import { clientOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';

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

function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A block per image, laid out like the archive inspect's. */
export function formatImages(images: readonly ImageDescription[]): string {
  const lines: string[] = [];
  images.forEach((d, i) => {
    if (i > 0) lines.push('');
    lines.push(`image ${i}: ${d.repoTags.length > 0 ? d.repoTags.join(', ') : '(untagged)'}`);
    lines.push(`  platform: ${platformText(d.platform)}`);
    if (d.index) lines.push(`  index:    ${d.index.digest} (${d.index.mediaType})`);
    lines.push(`  manifest: ${d.digest} (${d.mediaType})`);
    lines.push(`  config:   ${d.config.digest} (${formatSize(d.config.size)})`);
    const total = d.layers.reduce((sum, l) => sum + l.size, 0);
    lines.push(`  layers:   ${d.layers.length}${d.layers.length > 0 ? `, ${formatSize(total)} compressed` : ''}`);
    for (const l of d.layers) lines.push(`    ${l.digest}  ${formatSize(l.size).padStart(10)}  ${l.compression.padEnd(4)}  diff_id ${l.diffId}`);
  });
  return `${lines.join('\n')}\n`;
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
  if (opts.json) io.stdout.write(`${JSON.stringify({ reference: formatReference(ref), images })}\n`);
  else io.stdout.write(formatImages(images));
  return 0;
}
