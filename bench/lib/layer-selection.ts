/**
 * Picks the files of one bench layer: a depth-first walk of a /usr directory in the order
 * `tar --sort=name` uses (names compared byte by byte), stopping once the layer's tar would
 * reach its byte budget. The result is a NUL-separated list for `tar --no-recursion -T`.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface LayerSelection {
  dir: string;
  /** Paths relative to `/` (e.g. `usr/bin/ls`), parents before children. */
  paths: string[];
  /** Sum of the regular files' sizes (hard links counted once). */
  fileBytes: number;
  files: number;
  /** Estimated size of the tar: a 512-byte header per entry plus data padded to 512. */
  tarBytes: number;
  /** True if the whole directory was taken. */
  whole: boolean;
}

const BLOCK = 512;
const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;
const byBytes = (a: Dirent, b: Dirent): number => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

/** Walks `dir` (absolute) and keeps entries until `budget` tar bytes (Infinity: everything). */
export async function selectLayerFiles(dir: string, budget: number): Promise<LayerSelection> {
  const sel: LayerSelection = { dir, paths: [], fileBytes: 0, files: 0, tarBytes: 0, whole: true };
  const seenInodes = new Set<string>();
  const add = (abs: string, dataBytes: number): void => {
    sel.paths.push(path.relative('/', abs));
    sel.tarBytes += BLOCK + padded(dataBytes);
  };

  // Returns false once the budget is spent, unwinding the walk.
  const walk = async (abs: string): Promise<boolean> => {
    add(abs, 0);
    let entries: Dirent[];
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return true; // unreadable directory: keep its entry, skip its contents (tar would too)
    }
    entries.sort(byBytes);
    for (const e of entries) {
      if (sel.tarBytes >= budget) {
        sel.whole = false;
        return false;
      }
      const child = path.join(abs, e.name);
      if (e.isDirectory()) {
        if (!(await walk(child))) return false;
      } else if (e.isSymbolicLink()) {
        add(child, 0);
      } else if (e.isFile()) {
        const st = await lstat(child);
        const key = `${st.dev}:${st.ino}`;
        // A second name of a hard-linked file is a link entry in the tar: no data.
        const data = st.nlink > 1 && seenInodes.has(key) ? 0 : st.size;
        if (st.nlink > 1) seenInodes.add(key);
        add(child, data);
        sel.fileBytes += data;
        sel.files++;
      }
      // sockets, fifos and devices are left out: they carry no bytes worth pushing
    }
    return true;
  };
  await walk(dir);
  return sel;
}

/**
 * Chooses how much of each directory goes into its layer so the image totals ~`targetBytes`
 * of tar: the first directories whole when they leave room for the last one (the usual case,
 * /usr/bin + /usr/share + part of /usr/lib for 1 GB), else an equal share each.
 */
export async function selectLayers(dirs: string[], targetBytes: number): Promise<LayerSelection[]> {
  const fullHeads = await Promise.all(dirs.slice(0, -1).map((d) => selectLayerFiles(d, Infinity)));
  const headBytes = fullHeads.reduce((n, s) => n + s.tarBytes, 0);
  const last = dirs[dirs.length - 1]!;
  if (headBytes <= targetBytes * 0.85) {
    return [...fullHeads, await selectLayerFiles(last, targetBytes - headBytes)];
  }
  const out: LayerSelection[] = [];
  let remaining = targetBytes;
  for (let i = 0; i < dirs.length; i++) {
    const share = remaining / (dirs.length - i);
    const head = fullHeads[i];
    const sel = head && head.tarBytes <= share ? head : await selectLayerFiles(dirs[i]!, share);
    out.push(sel);
    remaining -= sel.tarBytes;
  }
  return out;
}
