import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TarpushError } from '../errors.js';
import { isDigest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { snippet } from '../util/printable.js';
import { errnoCode, layoutIoError, writeFileAtomic } from './files.js';
import { READ_NOFOLLOW, linkRefused } from './inside.js';

/**
 * The layout's index.json: read, change, write back.
 *
 * Updates are serialised per directory inside this process (a promise chain), and each one
 * re-reads the file right before writing it, so a tag written by another process a moment
 * earlier is kept. The write itself is temp file + rename: readers see the old or the new
 * index, never a torn one. (Two processes writing in the same millisecond can still lose
 * one update; the layout stays valid either way.)
 */

export interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  /** Other fields (annotations, subject…) are kept as they are. */
  [k: string]: unknown;
}

export const indexPath = (root: string): string => join(root, 'index.json');

export function emptyIndex(): IndexJson {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

export function serializeIndex(idx: IndexJson): string {
  return JSON.stringify(idx);
}

function isDescriptor(d: unknown): d is Descriptor {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return typeof o['mediaType'] === 'string' && isDigest(o['digest']) && typeof o['size'] === 'number';
}

/** Read and check index.json; LAYOUT_INVALID when absent or malformed. */
export async function readIndex(root: string): Promise<IndexJson> {
  const file = indexPath(root);
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', flag: READ_NOFOLLOW });
  } catch (e) {
    if (errnoCode(e) === 'ELOOP') throw linkRefused(root, file);
    if (errnoCode(e) === 'ENOENT') throw new TarpushError('LAYOUT_INVALID', `OCI layout ${root} has no index.json`, { file });
    throw layoutIoError(root, 'cannot read index.json', e);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TarpushError('LAYOUT_INVALID', `${file} is not valid JSON: ${snippet((e as Error).message)}`, { file });
  }
  const o = doc as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o['schemaVersion'] !== 2 || !Array.isArray(o['manifests'])) {
    throw new TarpushError('LAYOUT_INVALID', `${file} is not an OCI image index (schemaVersion 2 with a manifests list)`, { file });
  }
  const bad = (o['manifests'] as unknown[]).findIndex((d) => !isDescriptor(d));
  if (bad >= 0) throw new TarpushError('LAYOUT_INVALID', `${file}: manifests[${bad}] is not a valid descriptor`, { file });
  return o as IndexJson;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Apply `change` to index.json and write it back, one update at a time per directory.
 * `change` may return false to skip the write (nothing changed).
 */
export function updateIndex(root: string, change: (idx: IndexJson) => boolean | void): Promise<void> {
  const key = resolve(root);
  const prev = queues.get(key) ?? Promise.resolve();
  const next = prev
    .catch(() => {}) // an earlier failed update must not block later ones
    .then(async () => {
      const idx = await readIndex(root);
      if (change(idx) === false) return;
      await writeFileAtomic(indexPath(root), serializeIndex(idx)).catch((e: unknown) => {
        throw layoutIoError(root, 'cannot write index.json', e);
      });
    });
  queues.set(key, next);
  const forget = (): void => {
    if (queues.get(key) === next) queues.delete(key);
  };
  next.then(forget, forget);
  return next;
}
