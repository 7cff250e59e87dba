import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarpushError, isTarpushError } from '../errors.js';
import { digestHex, sha256, type Digest } from '../image/digest.js';
import type { ProgressFn } from '../image/sink.js';
import type { ByteSource } from '../image/types.js';
import { errnoCode, tempPathFor, writeFileAtomic } from './files.js';

/** Blobs of an OCI layout: `blobs/sha256/<hex>`, written by temp file + rename. */

export const blobDir = (root: string): string => join(root, 'blobs', 'sha256');
export const blobPath = (root: string, digest: Digest): string => join(blobDir(root), digestHex(digest));

/** Size of the blob file, or undefined when absent. */
export async function blobSize(root: string, digest: Digest): Promise<number | undefined> {
  try {
    const s = await stat(blobPath(root, digest));
    return s.isFile() ? s.size : undefined;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw layoutIoError(root, `cannot read blob ${digest}`, e);
  }
}

export async function hasBlob(root: string, digest: Digest): Promise<boolean> {
  return (await blobSize(root, digest)) !== undefined;
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
  const dir = blobDir(root);
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw layoutIoError(root, `cannot create ${dir}`, e);
  });
  const tmp = tempPathFor(join(dir, 'blob'));
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      onProgress?.(size);
      cb(null, chunk);
    },
  });
  const out = createWriteStream(tmp, { flags: 'wx' });
  let writeFailed = false;
  out.on('error', () => (writeFailed = true));
  try {
    try {
      await pipeline(input, measure, out);
    } catch (e) {
      // Our disk failing is a layout problem; the source failing is the source's error.
      if (writeFailed && !isTarpushError(e)) throw layoutIoError(root, `cannot write blob ${expected?.digest ?? ''}`.trim(), e);
      throw e;
    }
    const digest: Digest = `sha256:${hash.digest('hex')}`;
    if (expected) {
      const where = expected.location ? ` from ${expected.location}` : '';
      if (size !== expected.size) {
        throw new TarpushError('SIZE_MISMATCH', `blob ${expected.digest}${where} has ${size} bytes, expected ${expected.size}`, {
          file: expected.location,
          expected: String(expected.size),
          actual: String(size),
        });
      }
      if (digest !== expected.digest) {
        throw new TarpushError('DIGEST_MISMATCH', `blob${where} has digest ${digest}, expected ${expected.digest}`, {
          file: expected.location,
          expected: expected.digest,
          actual: digest,
        });
      }
    }
    await rename(tmp, blobPath(root, digest)).catch((e: unknown) => {
      throw layoutIoError(root, `cannot store blob ${digest}`, e);
    });
    return { digest, size };
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** Write a blob whose digest and size are known, unless it is already there. */
export async function writeBlob(root: string, digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
  if ((await blobSize(root, digest)) === source.size) {
    onProgress?.(source.size);
    return;
  }
  await writeBlobStream(root, source.open(), { digest, size: source.size, location: source.location }, onProgress);
}

/** Write small bytes (manifests, configs) as a blob; resolves with their digest. */
export async function writeBlobBytes(root: string, data: Buffer): Promise<Digest> {
  const digest = sha256(data);
  if ((await blobSize(root, digest)) === data.length) return digest;
  await mkdir(blobDir(root), { recursive: true });
  await writeFileAtomic(blobPath(root, digest), data).catch((e: unknown) => {
    throw layoutIoError(root, `cannot write blob ${digest}`, e);
  });
  return digest;
}

/** Read a whole (small) blob, checking its digest; NOT_FOUND when absent. */
export async function readBlobBytes(root: string, digest: Digest): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(blobPath(root, digest));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new TarpushError('NOT_FOUND', `blob ${digest} is not in OCI layout ${root}`, { file: root, expected: digest });
    throw layoutIoError(root, `cannot read blob ${digest}`, e);
  }
  const actual = sha256(data);
  if (actual !== digest) {
    throw new TarpushError('DIGEST_MISMATCH', `blob ${digest} in OCI layout ${root} is corrupt: its content has digest ${actual}`, {
      file: blobPath(root, digest),
      expected: digest,
      actual,
    });
  }
  return data;
}

export function layoutIoError(root: string, what: string, cause: unknown): TarpushError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new TarpushError('LAYOUT_INVALID', `${what} in OCI layout ${root}: ${msg}`, { file: root }, { cause });
}
