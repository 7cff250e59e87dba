import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarpushError, isTarpushError } from '../errors.js';
import { digestHex, parseDigest, sha256, type Digest } from '../image/digest.js';
import { BlobMeasure } from '../image/blob-measure.js';
import type { ProgressFn } from '../image/sink.js';
import type { ByteSource } from '../image/types.js';
import { errnoCode, layoutIoError, withTempFile, writeFileAtomic } from './files.js';
import { READ_NOFOLLOW, ensureBlobDir, linkRefused } from './inside.js';

/** Blobs of an OCI layout: `blobs/sha256/<hex>`, written by temp file + rename. */

export const blobDir = (root: string): string => join(root, 'blobs', 'sha256');

/** The blob's file; a digest that is not `sha256:<64 hex>` never becomes a path. */
export function blobPath(root: string, digest: Digest): string {
  return join(blobDir(root), digestHex(parseDigest(digest, `blob digest for OCI layout ${root}`)));
}

/** An existing blob this small is hashed before it is trusted; a larger one only with `verify`. */
export const VERIFY_SMALL_BYTES = 1024 * 1024;

export interface TrustOptions {
  /** Hash every existing blob before trusting it, whatever its size. */
  verify?: boolean;
}

/**
 * What is at a blob's path: `absent`, `present` (a regular file of the expected size, whose
 * content hashes to the digest when it is small, when `verify` is set, or when no size is
 * expected), or `wrong` (a link, a directory, a truncated or foreign file): a wrong blob is
 * never reported as present, and writing the blob replaces it.
 */
export async function blobState(
  root: string,
  digest: Digest,
  size: number | undefined,
  opts: TrustOptions = {},
): Promise<'absent' | 'present' | 'wrong'> {
  const path = blobPath(root, digest);
  let s;
  try {
    s = await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return 'absent';
    throw layoutIoError(root, `cannot read blob ${digest}`, e);
  }
  if (!s.isFile()) return 'wrong';
  if (size !== undefined && s.size !== size) return 'wrong';
  if (size !== undefined && s.size > VERIFY_SMALL_BYTES && !opts.verify) return 'present';
  const hash = createHash('sha256');
  try {
    const file = await open(path, READ_NOFOLLOW);
    try {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(s.size, 1), 1024 * 1024));
      for (let n = (await file.read(buf, 0, buf.length)).bytesRead; n > 0; n = (await file.read(buf, 0, buf.length)).bytesRead) {
        hash.update(buf.subarray(0, n));
      }
    } finally {
      await file.close();
    }
  } catch (e) {
    if (errnoCode(e) === 'ELOOP' || errnoCode(e) === 'ENOENT') return 'wrong'; // swapped for a link, or removed, meanwhile
    throw layoutIoError(root, `cannot read blob ${digest}`, e);
  }
  return `sha256:${hash.digest('hex')}` === digest ? 'present' : 'wrong';
}

/**
 * Write a blob from a stream: bytes go to a temp file while being hashed and counted, and
 * only a blob whose digest (and size, when known) matches is renamed into place. On any
 * failure the temp file is removed, so the layout never holds a wrong or partial blob.
 */
export async function writeBlobStream(
  root: string,
  input: Readable,
  expected: { digest: Digest; size: number; location?: string } | undefined,
  onProgress?: ProgressFn,
): Promise<{ digest: Digest; size: number }> {
  await ensureBlobDir(root);
  return withTempFile(join(blobDir(root), 'blob'), (tmp) => streamToBlob(root, tmp, input, expected, onProgress));
}

/** writeBlobStream's work on its temp file `tmp`: copy, check, rename into place. */
async function streamToBlob(
  root: string,
  tmp: string,
  input: Readable,
  expected: { digest: Digest; size: number; location?: string } | undefined,
  onProgress?: ProgressFn,
): Promise<{ digest: Digest; size: number }> {
  const counted = new BlobMeasure(expected, onProgress);
  const measure = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        counted.update(chunk); // SIZE_MISMATCH past the expected size: nothing more is written
      } catch (e) {
        cb(e as Error);
        return;
      }
      cb(null, chunk);
    },
  });
  const out = createWriteStream(tmp, { flags: 'wx' });
  let writeFailed = false;
  out.on('error', () => (writeFailed = true));
  try {
    await pipeline(input, measure, out);
  } catch (e) {
    // Our disk failing is a layout problem; the source failing is the source's error.
    if (writeFailed && !isTarpushError(e)) throw layoutIoError(root, `cannot write blob ${expected?.digest ?? ''}`.trim(), e);
    throw e;
  }
  const { digest, size } = counted.finish();
  await rename(tmp, blobPath(root, digest)).catch((e: unknown) => {
    throw layoutIoError(root, `cannot store blob ${digest}`, e);
  });
  return { digest, size };
}

/**
 * Write a blob whose digest and size are known, unless a trustworthy copy is there already
 * (`replace`: the caller found the copy wrong, write anyway). A wrong copy is replaced by
 * rename, so readers see the old file or the new one, never a mix.
 */
export async function writeBlob(
  root: string,
  digest: Digest,
  source: ByteSource,
  opts: TrustOptions & { replace?: boolean } = {},
  onProgress?: ProgressFn,
): Promise<void> {
  if (!opts.replace && (await blobState(root, digest, source.size, opts)) === 'present') {
    onProgress?.(source.size);
    return;
  }
  await writeBlobStream(root, source.open(), { digest, size: source.size, location: source.location }, onProgress);
}

/** Write small bytes (manifests, configs) as a blob; resolves with their digest. */
export async function writeBlobBytes(root: string, data: Buffer): Promise<Digest> {
  const digest = sha256(data);
  // The bytes are in memory: an existing copy is always hashed before it is trusted.
  if ((await blobState(root, digest, data.length, { verify: true })) === 'present') return digest;
  await ensureBlobDir(root);
  await writeFileAtomic(blobPath(root, digest), data).catch((e: unknown) => {
    throw layoutIoError(root, `cannot write blob ${digest}`, e);
  });
  return digest;
}

/** Read a whole (small) blob, checking its digest; NOT_FOUND when absent. */
export async function readBlobBytes(root: string, digest: Digest): Promise<Buffer> {
  let data: Buffer;
  const path = blobPath(root, digest);
  try {
    // A FIFO or device here would block or never end; only a regular file is read.
    const s = await lstat(path);
    if (s.isSymbolicLink()) throw linkRefused(root, path);
    if (!s.isFile()) throw new TarpushError('LAYOUT_INVALID', `${path} in OCI layout ${root} is not a regular file`, { file: path });
    data = await readFile(path, { flag: READ_NOFOLLOW });
  } catch (e) {
    if (isTarpushError(e)) throw e;
    if (errnoCode(e) === 'ELOOP') throw linkRefused(root, path);
    if (errnoCode(e) === 'ENOENT') throw new TarpushError('NOT_FOUND', `blob ${digest} is not in OCI layout ${root}`, { file: root, expected: digest });
    throw layoutIoError(root, `cannot read blob ${digest}`, e);
  }
  const actual = sha256(data);
  if (actual !== digest) {
    throw new TarpushError('DIGEST_MISMATCH', `blob ${digest} in OCI layout ${root} is corrupt: its content has digest ${actual}`, {
      file: path,
      expected: digest,
      actual,
    });
  }
  return data;
}
