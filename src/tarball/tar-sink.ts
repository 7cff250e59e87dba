import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarpushError, isTarpushError } from '../errors.js';
import { digestHex, isDigest, parseDigest, sha256, type Digest } from '../image/digest.js';
import { parseIndex, parseManifest } from '../image/manifest.js';
import { isIndexMediaType } from '../image/media-types.js';
import type { ImageSink, ProgressFn } from '../image/sink.js';
import type { ByteSource, Descriptor } from '../image/types.js';
import { isForeignLayerMediaType } from '../image/validate.js';
import { printable } from '../util/printable.js';
import { BlobMeasure } from '../image/blob-measure.js';
import { TarFile, archiveWriteError, tempBeside } from './tar-file.js';

/**
 * What the two tar places (docker-save and oci-archive) share: blobs written as
 * `blobs/sha256/<hex>` entries the moment they are put, each once, digest and size checked
 * on the way; manifests recorded (and written as blobs) as they are put; the names and
 * index files a format needs written by `close()`, which then moves the archive under its
 * final name. Until then only `FILE.tmp-<pid>-…` exists, and `abort()` (or a failed close)
 * removes it.
 */

export const OCI_LAYOUT_ENTRY = 'oci-layout';
export const OCI_LAYOUT_CONTENT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

export const blobEntry = (d: Digest): string => `blobs/sha256/${digestHex(d)}`;

/**
 * Start a tar that holds an OCI layout (both formats do: docker-save since Docker 25 keeps
 * one inside): the file under its temp name, `oci-layout` and the blob directories. A
 * failure removes what was written.
 */
export async function startLayoutTar<S extends TarSink>(file: string, label: string, make: (tar: TarFile) => S): Promise<S> {
  const tar = await TarFile.create(file, label);
  const sink = make(tar);
  try {
    await tar.addBytes(OCI_LAYOUT_ENTRY, OCI_LAYOUT_CONTENT);
    await tar.addDirectory('blobs/');
    await tar.addDirectory('blobs/sha256/');
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return sink;
}

export interface StoredManifest {
  digest: Digest;
  raw: Buffer;
  mediaType: string;
}

export abstract class TarSink implements ImageSink {
  /** Blobs written this run (digest → size). */
  private readonly written = new Map<Digest, number>();
  /** Blobs being written (a second put of the same digest waits for the first). */
  private readonly pending = new Map<Digest, Promise<void>>();
  /** Spool files of putStream in progress, removed on abort. */
  private readonly spools = new Set<string>();
  /** Manifests put, in put order. */
  protected readonly manifests = new Map<Digest, StoredManifest>();

  protected constructor(
    readonly name: string,
    protected readonly tar: TarFile,
  ) {}

  /** The final path of the archive. */
  get path(): string {
    return this.tar.path;
  }

  /** Whether this run wrote the blob (the archive holds nothing else). */
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    const have = this.written.get(digest);
    return have !== undefined && (size === undefined || have === size);
  }

  /** Write the blob as an entry (once per digest); SIZE_MISMATCH / DIGEST_MISMATCH poison the archive. */
  async putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
    parseDigest(digest, `blob digest for ${this.name}`);
    if (await this.present(digest, source.size, onProgress)) return;
    const measure = new BlobMeasure({ digest, size: source.size, location: source.location }, onProgress);
    await this.track(digest, this.tar.addStream(blobEntry(digest), source.size, () => source.open(), measure), source.size);
  }

  /**
   * Bytes of unknown digest (a layer compressed on the fly). A tar header states the entry's
   * size before its bytes, and tar-stream writes the archive as a stream (no seeking back to
   * patch a header), so the bytes are spooled first to a temp file beside the archive (same
   * filesystem: no other disk is filled), then appended from it and the spool removed.
   * `open()` is called once.
   */
  async putStream(open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
    const spool = tempBeside(this.tar.path, '.spool');
    this.spools.add(spool);
    try {
      const measure = new BlobMeasure(undefined, onProgress);
      try {
        await pipeline(
          open(),
          async function* (src: AsyncIterable<Buffer>) {
            for await (const chunk of src) {
              measure.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(spool, { flags: 'wx', highWaterMark: 1 << 20 }),
        );
      } catch (e) {
        throw isTarpushError(e) ? e : archiveWriteError(this.name, `cannot spool a blob to ${spool}`, e);
      }
      const blob = measure.finish();
      if (!(await this.present(blob.digest, blob.size))) {
        // The spool is our own file, just hashed: its bytes are counted again, not re-hashed.
        const add = this.tar.addStream(blobEntry(blob.digest), blob.size, () => createReadStream(spool, { highWaterMark: 1 << 20 }), new BlobMeasure(undefined));
        await this.track(blob.digest, add, blob.size);
      }
      return blob;
    } finally {
      this.spools.delete(spool);
      await rm(spool, { force: true }).catch(() => {});
    }
  }

  /** Whether the blob is (or, once the first writer is done, will be) in the archive. */
  private async present(digest: Digest, size: number, onProgress?: ProgressFn): Promise<boolean> {
    const inFlight = this.pending.get(digest);
    if (inFlight) await inFlight;
    const have = this.written.get(digest);
    if (have === undefined) return false;
    if (have !== size) {
      throw new TarpushError('SIZE_MISMATCH', `${this.name}: blob ${digest} was written with ${have} bytes, now put with ${size}`, {
        file: this.name,
        expected: String(have),
        actual: String(size),
      });
    }
    onProgress?.(size);
    return true;
  }

  private async track(digest: Digest, write: Promise<void>, size: number): Promise<void> {
    this.pending.set(digest, write);
    try {
      await write;
      this.written.set(digest, size);
    } finally {
      this.pending.delete(digest);
    }
  }

  /** Small bytes (manifests) as a blob entry, once. */
  protected async putBytes(data: Buffer): Promise<Digest> {
    const digest = sha256(data);
    if (!(await this.present(digest, data.length))) await this.track(digest, this.tar.addBytes(blobEntry(digest), data), data.length);
    return digest;
  }

  /**
   * Store a manifest as a blob and remember it; a tag `reference` names it (how, the format
   * decides: `recordName`). A digest reference must be the digest of the bytes.
   */
  async putManifest(reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    const digest = sha256(raw);
    if (isDigest(reference) && reference !== digest) {
      throw new TarpushError('DIGEST_MISMATCH', `${this.name}: the manifest bytes hash to ${digest}, not to the digest ${reference} it is put under`, {
        file: this.name,
        expected: reference,
        actual: digest,
      });
    }
    this.acceptManifest(digest, mediaType);
    const name = isDigest(reference) ? undefined : this.checkName(reference);
    await this.putBytes(raw);
    if (!this.manifests.has(digest)) this.manifests.set(digest, { digest, raw, mediaType });
    if (name !== undefined) this.recordName(name, digest);
    return digest;
  }

  /** Refuse manifests the format cannot hold (throw), before anything is written. */
  protected acceptManifest(_digest: Digest, _mediaType: string): void {}
  /** Check a tag (or name) before anything is written; resolves with the name to record. */
  protected abstract checkName(reference: string): string;
  protected abstract recordName(name: string, digest: Digest): void;
  /** The entries that come last (index.json, manifest.json…), from what was put. */
  protected abstract trailer(): Promise<void>;

  /**
   * Every blob `m` refers to must be in the archive: an image's config and layers (foreign
   * layers may be left out when `foreignMayBeAbsent`), an index's child manifests and theirs.
   */
  protected requireContents(m: StoredManifest, foreignMayBeAbsent: boolean, depth = 0): void {
    const where = `${this.name}: manifest ${m.digest}`;
    if (depth > 8) throw new TarpushError('MANIFEST_INVALID', `${where}: indexes nested more than 8 deep`);
    const need = (d: Descriptor, what: string): void => {
      if (this.written.get(d.digest) === d.size) return;
      throw new TarpushError('ARCHIVE_ENTRY_MISSING', `${where} lists ${what} ${d.digest} (${d.size} bytes), which was not put into the archive`, {
        file: this.name,
        entry: blobEntry(d.digest),
      });
    };
    if (isIndexMediaType(m.mediaType)) {
      for (const child of parseIndex(m.raw, where).manifests) {
        const stored = this.manifests.get(child.digest);
        if (!stored) need(child, 'manifest');
        else this.requireContents(stored, foreignMayBeAbsent, depth + 1);
      }
      return;
    }
    const parsed = parseManifest(m.raw, where);
    need(parsed.config, 'config');
    for (const l of parsed.layers) {
      if (foreignMayBeAbsent && isForeignLayerMediaType(l.mediaType) && l.urls?.length && !this.written.has(l.digest)) continue;
      need(l, 'layer');
    }
  }

  /**
   * Write the trailing entries, end the archive and move it to its final name. On failure
   * (including any earlier failed put) nothing is left: the temp file is removed.
   */
  async close(): Promise<void> {
    try {
      if (!this.tar.usable) {
        await this.tar.commit(); // throws the first failure, and removes the temp file
        return;
      }
      await Promise.allSettled([...this.pending.values()]);
      await this.trailer();
      await this.tar.commit();
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  /** Give up: remove the temp file and any spool. Idempotent; does nothing after a successful close(). */
  async abort(): Promise<void> {
    await this.tar.abort();
    await Promise.all([...this.spools].map((s) => rm(s, { force: true }).catch(() => {})));
  }
}

/** A tag as written into a message. */
export const quoted = (s: string): string => `"${printable(s)}"`;
