import { isCarried, type ArtifactDescription, type ImageDescription, type NotCarriedDescription } from '../image/describe.js';
import { platformText } from '../image/platform.js';
import { formatBytes as formatSize } from '../util/format-bytes.js';
import { printable as p } from '../util/printable.js';

/**
 * What `inspect` prints for people: a block per image, the same for archives and registries.
 * Every string here came from an archive or a registry (names, media types, platform,
 * digests as they were listed), so each is escaped: a block is exactly its lines.
 * An index entry the archive does not carry gets a block saying so. No images: ''.
 */
export function formatImages(
  images: readonly ((ImageDescription | NotCarriedDescription) & { position?: number; verified?: boolean })[],
  pushed: ReadonlyArray<{ position: number; format: string; digest: string; mediaType: string }> = [],
): string {
  const lines: string[] = [];
  images.forEach((d, i) => {
    if (i > 0) lines.push('');
    lines.push(`image ${d.position ?? i}: ${names(d)}`);
    lines.push(`  platform: ${p(platformText(d.platform))}${'attestation' in d && d.attestation ? ' (attestation)' : ''}`);
    if (d.index) lines.push(`  index:    ${p(d.index.digest)} (${p(d.index.mediaType)})`);
    // The archive's own manifest; with plain layers push compresses them, so a registry gets another one.
    const plain = isCarried(d) ? d.layers.filter((l) => l.compression === 'none' && !l.foreign).length : 0;
    const own = plain > 0 ? `; as the archive has it: push compresses its ${plain} plain layer${plain > 1 ? 's' : ''}, see inspect --format keep` : '';
    lines.push(`  manifest: ${p(d.digest)} (${p(d.mediaType)}${own})`);
    const push = pushed.find((x) => x.position === d.position);
    if (push) lines.push(`  pushed:   ${p(push.digest)} (${p(push.mediaType)}; what push --format ${p(push.format)} gives a registry${d.index ? ', for the index' : ''})`);
    if (!isCarried(d)) {
      lines.push('  not carried: the index lists it, the archive does not hold it');
      return;
    }
    if (d.subject) lines.push(`  subject:  ${p(d.subject.digest)} (${p(d.subject.mediaType)})`);
    lines.push(`  config:   ${p(d.config.digest)} (${formatSize(d.config.size)})`);
    const total = d.layers.reduce((sum, l) => sum + l.size, 0);
    lines.push(`  layers:   ${d.layers.length}${d.layers.length > 0 ? `, ${formatSize(total)} stored` : ''}`);
    for (const l of d.layers) {
      const foreign = l.foreign ? `  foreign${l.absent ? ', not in the archive' : ''}${l.urls?.length ? ` (${l.urls.map(p).join(', ')})` : ''}` : '';
      lines.push(`    ${p(l.digest)}  ${formatSize(l.size).padStart(10)}  ${p(l.compression).padEnd(4)}  diff_id ${p(l.diffId)}${foreign}`);
    }
    if (d.verified) lines.push('  verified');
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** A block per artifact: digest, artifactType, subject, its blobs. No artifacts: ''. */
export function formatArtifacts(artifacts: readonly (ArtifactDescription & { position?: number; verified?: boolean })[]): string {
  const lines: string[] = [];
  artifacts.forEach((d, i) => {
    if (i > 0) lines.push('');
    lines.push(`artifact ${d.position ?? i}: ${names(d)}`);
    lines.push(`  type:     ${d.artifactType !== undefined ? p(d.artifactType) : '(none)'}`);
    if (d.platform) lines.push(`  platform: ${p(platformText(d.platform))}`);
    if (d.index) lines.push(`  index:    ${p(d.index.digest)} (${p(d.index.mediaType)})`);
    lines.push(`  manifest: ${p(d.digest)} (${p(d.mediaType)})`);
    if (d.subject) lines.push(`  subject:  ${p(d.subject.digest)} (${p(d.subject.mediaType)})`);
    if (d.attests !== undefined) lines.push(`  attests:  ${p(d.attests)}`);
    lines.push(`  config:   ${p(d.config.digest)} (${p(d.config.mediaType)}, ${formatSize(d.config.size)})`);
    lines.push(`  blobs:    ${d.blobs.length}`);
    for (const b of d.blobs) lines.push(`    ${p(b.digest)}  ${formatSize(b.size).padStart(10)}  ${p(b.mediaType)}`);
    if (d.verified) lines.push('  verified');
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function names(d: { repoTags: readonly string[]; refName?: string }): string {
  const tags = d.repoTags.length > 0 ? d.repoTags.map(p).join(', ') : '(untagged)';
  return `${tags}${d.refName !== undefined ? ` [ref ${p(d.refName)}]` : ''}`;
}
