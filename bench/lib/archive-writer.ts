/**
 * Writes an image archive with the GNU tar CLI: the members are laid out in a staging
 * directory (big blobs hard-linked, not copied) and tar'ed with fixed owner, mode and mtime,
 * so the same inputs always give the same archive bytes.
 */
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runChecked } from './child.js';

export type Member = { name: string; file: string } | { name: string; text: string };

export interface ArchiveLayout {
  members: Member[];
  /**
   * 'given': members in the listed order, no directory entries (go-containerregistry writes
   * config, layers, manifest.json last). 'sorted': the staged tree walked by name with its
   * directories, as docker save and skopeo's oci-archive do.
   */
  order: 'given' | 'sorted';
}

async function stage(dir: string, m: Member): Promise<void> {
  const dest = path.join(dir, m.name);
  await mkdir(path.dirname(dest), { recursive: true });
  if ('text' in m) {
    await writeFile(dest, m.text);
    return;
  }
  try {
    await link(m.file, dest);
  } catch {
    await copyFile(m.file, dest); // another filesystem: a one-time copy
  }
}

export async function writeArchive(out: string, layout: ArchiveLayout): Promise<void> {
  const stageDir = `${out}.stage`;
  const tmp = `${out}.tmp`;
  await rm(stageDir, { recursive: true, force: true });
  try {
    for (const m of layout.members) await stage(stageDir, m);
    const names =
      layout.order === 'given'
        ? layout.members.map((m) => m.name)
        : [...new Set(layout.members.map((m) => m.name.split('/')[0]!))].sort();
    const common = ['--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--hard-dereference', '--force-local'];
    const sortFlags = layout.order === 'sorted' ? ['--sort=name'] : ['--no-recursion'];
    await runChecked('tar', [...common, ...sortFlags, '-C', stageDir, '-cf', tmp, '--', ...names]);
    await rename(tmp, out);
  } finally {
    await rm(stageDir, { recursive: true, force: true });
    await rm(tmp, { force: true });
  }
}
