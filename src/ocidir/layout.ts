import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { TarpushError, isTarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ImageSink, ProgressFn } from '../image/sink.js';
import type { ByteSource, Descriptor } from '../image/types.js';
import { printable, snippet } from '../util/printable.js';
import { blobDir, blobState, writeBlob, writeBlobStream } from './blob.js';
import { createFileExclusive, errnoCode, layoutIoError, sweepStaleTemps } from './files.js';
import { BLOB_DIRS, READ_NOFOLLOW, checkEntry, ensureBlobDir, linkRefused } from './inside.js';
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

export interface LayoutOptions {
  /** Make a missing or empty directory an empty layout. */
  create?: boolean;
  /**
   * Hash every blob already in the layout before trusting it as present (`--verify`).
   * Without it, an existing blob over 1 MiB is trusted when it is a regular file of the
   * expected size; smaller ones are always hashed.
   */
  verify?: boolean;
}

export class OciLayout implements ImageSink {
  /** `oci:<dir>` as the user gave the directory. */
  readonly name: string;
  /** Absolute path of the layout directory. */
  readonly root: string;
  private readonly verify: boolean;
  /** Blobs hasBlob found wrong: putBlob rewrites them even where a size check would pass. */
  private readonly wrong = new Set<Digest>();

  constructor(dir: string, opts: Pick<LayoutOptions, 'verify'> = {}) {
    this.name = `oci:${dir}`;
    this.root = resolve(dir);
    this.verify = opts.verify ?? false;
  }

  /**
   * Whether a trustworthy copy of the blob is stored. Pass the expected `size` when known:
   * without it a large blob has to be hashed to be trusted.
   */
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    const state = await blobState(this.root, digest, size, { verify: this.verify });
    if (state === 'wrong') this.wrong.add(digest);
    return state === 'present';
  }

  /**
   * Store a blob unless a trustworthy copy is there (a wrong one is replaced);
   * DIGEST_MISMATCH / SIZE_MISMATCH (nothing stored) when the source is not what it claims.
   */
  async putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
    await writeBlob(this.root, digest, source, { verify: this.verify, replace: this.wrong.has(digest) }, onProgress);
    this.wrong.delete(digest);
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

/** The layout's own entries and what each must be (blobs/ before blobs/sha256/). */
const ENTRIES: ReadonlyArray<readonly [string, 'directory' | 'file']> = [
  [OCI_LAYOUT_FILE, 'file'],
  ['index.json', 'file'],
  ...BLOB_DIRS.map((d) => [d, 'directory'] as const),
];

/**
 * Open an OCI layout directory. With `create`, a missing or empty directory becomes an
 * empty layout (`oci-layout`, empty `index.json`, `blobs/sha256/`). A directory that holds
 * other things, or a layout with a broken `oci-layout` / `index.json`, is LAYOUT_INVALID;
 * so is one whose own entries are symbolic links (nothing is written through them). Temp
 * files of dead runs are removed.
 */
export async function openLayout(dir: string, opts: LayoutOptions = {}): Promise<OciLayout> {
  const layout = new OciLayout(dir, opts);
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

  // Before anything is created: a linked blobs/ must not receive a mkdir.
  for (const [rel, kind] of ENTRIES) await checkEntry(root, rel, kind);

  if (create) {
    // The directory itself is the user's (a link there is their choice); its contents are ours.
    await mkdir(root, { recursive: true }).catch((e: unknown) => {
      throw layoutIoError(dir, 'cannot create directory', e);
    });
    await ensureBlobDir(root);
    try {
      // Exclusive creates: a concurrent run creating the same layout is not clobbered.
      await createFileExclusive(join(root, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
      await createFileExclusive(indexPath(root), serializeIndex(emptyIndex()));
    } catch (e) {
      throw layoutIoError(dir, 'cannot create layout', e);
    }
  }

  // Again after creating: a concurrent run may have made them, and they must be as expected.
  for (const [rel, kind] of ENTRIES) await checkEntry(root, rel, kind);
  await checkLayoutFile(root, dir);
  await readIndex(root);
  await sweepStaleTemps(blobDir(root));
  await sweepStaleTemps(root);
  return layout;
}

async function checkLayoutFile(root: string, dir: string): Promise<void> {
  const file = join(root, OCI_LAYOUT_FILE);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, { encoding: 'utf8', flag: READ_NOFOLLOW }));
  } catch (e) {
    if (errnoCode(e) === 'ELOOP') throw linkRefused(root, file);
    throw new TarpushError('LAYOUT_INVALID', `${file} is unreadable or not JSON: ${snippet((e as Error).message)}`, { file: dir });
  }
  const version = (doc as Record<string, unknown> | null)?.['imageLayoutVersion'];
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw new TarpushError('LAYOUT_INVALID', `${file} has imageLayoutVersion ${printable(String(JSON.stringify(version)))}; tarpush knows 1.x`, { file: dir });
  }
}
