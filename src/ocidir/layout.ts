import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { TarpushError, isTarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ImageSink, ProgressFn } from '../image/sink.js';
import type { ByteSource, Descriptor } from '../image/types.js';
import { blobDir, hasBlob, layoutIoError, writeBlob, writeBlobStream } from './blob.js';
import { createFileExclusive, errnoCode } from './files.js';
import { emptyIndex, indexPath, readIndex, serializeIndex } from './index-json.js';
import { addIndexEntry, getManifest, putManifest } from './manifest.js';
import { listTags } from './tag.js';

/**
 * An OCI image layout directory as a place to push to (and read back from): the same
 * shape as a registry repository, so the publisher treats both alike. Each operation
 * lives in its own file (blob.ts, manifest.ts, tag.ts); this class ties them to a root.
 */

export const OCI_LAYOUT_FILE = 'oci-layout';
const LAYOUT_VERSION = '1.0.0';

export class OciLayout implements ImageSink {
  /** `oci:<dir>` as the user gave the directory. */
  readonly name: string;
  /** Absolute path of the layout directory. */
  readonly root: string;

  constructor(dir: string) {
    this.name = `oci:${dir}`;
    this.root = resolve(dir);
  }

  hasBlob(digest: Digest): Promise<boolean> {
    return hasBlob(this.root, digest);
  }

  /** Store a blob; DIGEST_MISMATCH / SIZE_MISMATCH (nothing stored) when the source is not what it claims. */
  putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
    return writeBlob(this.root, digest, source, onProgress);
  }

  async putStream(open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
    return writeBlobStream(this.root, open(), undefined, onProgress);
  }

  /** Store a manifest; a tag reference also (re)points that tag in index.json. */
  putManifest(reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    return putManifest(this.root, reference, raw, mediaType);
  }

  /** List an already stored manifest in index.json without a tag (top-level push by digest). */
  addIndexEntry(descriptor: Descriptor): Promise<void> {
    return addIndexEntry(this.root, descriptor);
  }

  /** Tags (ref.name annotations) in index.json order. */
  tags(): Promise<string[]> {
    return listTags(this.root);
  }

  getManifest(reference: string): Promise<{ raw: Buffer; mediaType: string; digest: Digest }> {
    return getManifest(this.root, reference);
  }

  /** The index.json entries (descriptors), as stored. */
  async entries(): Promise<Descriptor[]> {
    return (await readIndex(this.root)).manifests;
  }
}

/**
 * Open an OCI layout directory. With `create`, a missing or empty directory becomes an
 * empty layout (`oci-layout`, empty `index.json`, `blobs/sha256/`). A directory that holds
 * other things, or a layout with a broken `oci-layout` / `index.json`, is LAYOUT_INVALID.
 */
export async function openLayout(dir: string, opts: { create?: boolean } = {}): Promise<OciLayout> {
  const layout = new OciLayout(dir);
  const root = layout.root;
  const create = opts.create ?? false;

  let entries: string[] | undefined;
  try {
    const s = await stat(root);
    if (!s.isDirectory()) throw new TarpushError('LAYOUT_INVALID', `${dir} exists and is not a directory`, { file: dir });
    entries = await readdir(root);
  } catch (e) {
    if (isTarpushError(e)) throw e;
    if (errnoCode(e) !== 'ENOENT') throw layoutIoError(dir, 'cannot open directory', e);
  }

  if (entries === undefined || entries.length === 0) {
    if (!create) {
      const why = entries === undefined ? 'does not exist' : 'is empty';
      throw new TarpushError('LAYOUT_INVALID', `OCI layout ${dir} ${why}`, { file: dir });
    }
  } else if (!entries.includes(OCI_LAYOUT_FILE)) {
    throw new TarpushError('LAYOUT_INVALID', `${dir} is not an OCI layout (it has no ${OCI_LAYOUT_FILE} file) and is not empty`, { file: dir });
  }

  if (create) {
    try {
      await mkdir(blobDir(root), { recursive: true });
      // Exclusive creates: a concurrent run creating the same layout is not clobbered.
      await createFileExclusive(join(root, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
      await createFileExclusive(indexPath(root), serializeIndex(emptyIndex()));
    } catch (e) {
      throw layoutIoError(dir, 'cannot create layout', e);
    }
  }

  await checkLayoutFile(root, dir);
  await readIndex(root);
  return layout;
}

async function checkLayoutFile(root: string, dir: string): Promise<void> {
  const file = join(root, OCI_LAYOUT_FILE);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new TarpushError('LAYOUT_INVALID', `${file} is unreadable or not JSON: ${(e as Error).message}`, { file: dir });
  }
  const version = (doc as Record<string, unknown> | null)?.['imageLayoutVersion'];
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw new TarpushError('LAYOUT_INVALID', `${file} has imageLayoutVersion ${JSON.stringify(version)}; tarpush knows 1.x`, { file: dir });
  }
}
