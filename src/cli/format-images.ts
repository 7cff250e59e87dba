import type { ImageDescription } from '../image/describe.js';
import { platformText } from '../image/platform.js';
import { printable as p } from '../util/printable.js';

/** 1536 → "1.5 KiB" (binary units: what `ls -lh` and du print for files). */
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

/**
 * What `inspect` prints for people: a block per image, the same for archives and registries.
 * Every string here came from an archive or a registry (names, media types, platform,
 * digests as they were listed), so each is escaped: a block is exactly its lines.
 */
export function formatImages(images: readonly (ImageDescription & { position?: number; verified?: boolean })[]): string {
  const lines: string[] = [];
  images.forEach((d, i) => {
    if (i > 0) lines.push('');
    const names = d.repoTags.length > 0 ? d.repoTags.map(p).join(', ') : '(untagged)';
    lines.push(`image ${d.position ?? i}: ${names}${d.refName !== undefined ? ` [ref ${p(d.refName)}]` : ''}`);
    lines.push(`  platform: ${p(platformText(d.platform))}`);
    if (d.index) lines.push(`  index:    ${p(d.index.digest)} (${p(d.index.mediaType)})`);
    lines.push(`  manifest: ${p(d.digest)} (${p(d.mediaType)})`);
    lines.push(`  config:   ${p(d.config.digest)} (${formatSize(d.config.size)})`);
    const total = d.layers.reduce((sum, l) => sum + l.size, 0);
    lines.push(`  layers:   ${d.layers.length}${d.layers.length > 0 ? `, ${formatSize(total)} stored` : ''}`);
    for (const l of d.layers) {
      lines.push(`    ${p(l.digest)}  ${formatSize(l.size).padStart(10)}  ${p(l.compression).padEnd(4)}  diff_id ${p(l.diffId)}`);
    }
    if (d.verified) lines.push('  verified');
  });
  return `${lines.join('\n')}\n`;
}
