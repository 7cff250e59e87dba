import { appendFile, writeFile } from 'node:fs/promises';
import type { PublishResult } from '../publish/publish.js';

export interface OutputFiles {
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
  githubOutput?: string;
}

/** `reg/repo:tag` → `reg/repo`, keeping a registry port. */
const withoutTag = (ref: string): string => {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
};

/**
 * kaniko's output files: --digest-file (the digest), --image-name-with-digest-file
 * (`repo@digest` per destination), --image-name-tag-with-digest-file (`repo:tag@digest`),
 * and `digest=`/`image=` lines for GitHub Actions when GITHUB_OUTPUT is set.
 */
export async function writeOutputs(results: PublishResult[], files: OutputFiles): Promise<void> {
  const first = results[0];
  if (!first) return;
  const tagged = results.flatMap((r) => r.references.filter((ref) => !ref.includes('@')).map((ref) => ({ ref, digest: r.digest })));
  const names = [...new Set(results.flatMap((r) => r.references.filter((ref) => ref.includes('@'))))];
  if (files.digestFile) await writeFile(files.digestFile, first.digest);
  if (files.imageNameWithDigestFile) await writeFile(files.imageNameWithDigestFile, names.map((n) => `${n}\n`).join(''));
  if (files.imageNameTagWithDigestFile) {
    await writeFile(files.imageNameTagWithDigestFile, tagged.map(({ ref, digest }) => `${ref}@${digest}\n`).join(''));
  }
  if (files.githubOutput) {
    const image = names[0] ?? `${withoutTag(tagged[0]?.ref ?? '')}@${first.digest}`;
    await appendFile(files.githubOutput, `digest=${first.digest}\nimage=${image}\n`);
  }
}
