/**
 * An in-memory place: a real implementation of the sink interface (image/sink.ts) that
 * keeps blobs, manifests and tags in Maps and checks what a registry checks — a blob's
 * bytes must hash to its digest and have its size, a manifest's blobs (and an index's
 * children) must be stored before it, a manifest put by digest must hash to it — so the
 * publish pipeline can be exercised without a process or a disk. Chosen operations can be
 * told to fail (`failWhen`), to drive publish's failure paths; every operation is logged in
 * order (`log`), for tests about what happens before what.
 */
import type { Readable } from 'node:stream';
import { TarpushError } from '../../src/errors.js';
import { isDigest, sha256, type Digest } from '../../src/image/digest.js';
import { parseIndex, parseManifest } from '../../src/image/manifest.js';
import { isIndexMediaType } from '../../src/image/media-types.js';
import type { ImageSink, ProgressFn } from '../../src/image/sink.js';
import type { ByteSource, Descriptor } from '../../src/image/types.js';
import { isForeignLayerMediaType } from '../../src/image/validate.js';
import type { Place } from '../../src/places/open-sink.js';
import { isTag } from '../../src/reference/index.js';

export type MemoryOp = 'hasBlob' | 'putBlob' | 'putStream' | 'putManifest' | 'headManifest' | 'close';

/** One operation as it reached the sink: `target` is the blob digest or the manifest reference. */
export interface MemoryCall {
  op: MemoryOp;
  target: string;
  /** For putManifest: the digest of the bytes and their media type. */
  digest?: Digest;
  mediaType?: string;
}

export interface MemorySinkOptions {
  /** Shown in messages and as the place's name (default `memory:test`). */
  name?: string;
  /** Return an error to make that call fail (before it has any effect). */
  failWhen?: (call: MemoryCall) => Error | undefined;
  /** Nothing is visible (`tags`, `manifests`) until close(), as a tar place: abort() drops it all. */
  commitStep?: boolean;
  /** The place says it holds images only (as docker-archive does): publish writes no referrers there. */
  imagesOnly?: boolean;
}

interface StoredManifest {
  raw: Buffer;
  mediaType: string;
}

export class MemorySink implements ImageSink {
  readonly name: string;
  readonly blobs = new Map<Digest, Buffer>();
  readonly manifests = new Map<Digest, StoredManifest>();
  readonly tags = new Map<string, Digest>();
  /** subject digest → descriptors of the manifests that name it (a registry with the referrers API). */
  readonly referrers = new Map<Digest, Descriptor[]>();
  /** Every call, in the order it arrived (failed ones too). */
  readonly log: MemoryCall[] = [];
  state: 'open' | 'closed' | 'aborted' = 'open';

  constructor(private readonly opts: MemorySinkOptions = {}) {
    this.name = opts.name ?? 'memory:test';
  }

  private enter(call: MemoryCall): void {
    this.log.push(call);
    if (this.state !== 'open') throw new TarpushError('USAGE', `${this.name}: ${call.op} after the place was ${this.state}`);
    const err = this.opts.failWhen?.(call);
    if (err) throw err;
  }

  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    this.enter({ op: 'hasBlob', target: digest });
    const have = this.blobs.get(digest);
    return have !== undefined && (size === undefined || have.length === size);
  }

  async putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
    this.enter({ op: 'putBlob', target: digest });
    if (!isDigest(digest)) throw new TarpushError('DIGEST_MISMATCH', `${this.name}: ${JSON.stringify(digest)} is not a sha256 digest`);
    const bytes = await readAll(source.open(), onProgress);
    if (bytes.length !== source.size) {
      throw new TarpushError('SIZE_MISMATCH', `${this.name}: blob ${digest} from ${source.location} has ${bytes.length} bytes, expected ${source.size}`, {
        expected: String(source.size),
        actual: String(bytes.length),
      });
    }
    const actual = sha256(bytes);
    if (actual !== digest) {
      throw new TarpushError('DIGEST_MISMATCH', `${this.name}: blob from ${source.location} has digest ${actual}, expected ${digest}`, { expected: digest, actual });
    }
    this.blobs.set(digest, bytes);
  }

  async putStream(open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
    this.enter({ op: 'putStream', target: '(stream)' });
    const bytes = await readAll(open(), onProgress);
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }

  async putManifest(reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    const digest = sha256(raw);
    this.enter({ op: 'putManifest', target: reference, digest, mediaType });
    const byDigest = reference.startsWith('sha256:');
    if (byDigest && reference !== digest) {
      throw new TarpushError('DIGEST_MISMATCH', `${this.name}: manifest put as ${reference} hashes to ${digest}`, { expected: reference, actual: digest });
    }
    if (!byDigest && !isTag(reference)) throw new TarpushError('REFERENCE_INVALID', `${this.name}: ${JSON.stringify(reference)} is not a tag`);
    const where = `${this.name}: manifest ${digest}`;
    // As distribution does: every blob (and every child manifest) it names must be stored.
    const missing = (d: Descriptor, have: Map<Digest, { length: number } | StoredManifest>, what: string) => {
      const got = have.get(d.digest);
      const size = got === undefined ? undefined : 'raw' in got ? got.raw.length : got.length;
      if (size !== d.size) throw new TarpushError('REGISTRY_ERROR', `${where}: MANIFEST_BLOB_UNKNOWN: ${what} ${d.digest} (${d.size} bytes) is not stored`, { registryCode: 'MANIFEST_BLOB_UNKNOWN' });
    };
    let subject: Descriptor | undefined;
    let artifactType: string | undefined;
    let annotations: Record<string, string> | undefined;
    if (isIndexMediaType(mediaType)) {
      const index = parseIndex(raw, where);
      for (const c of index.manifests) missing(c, this.manifests, 'manifest');
      ({ subject, artifactType, annotations } = index as { subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> });
    } else {
      const m = parseManifest(raw, where);
      missing(m.config, this.blobs, 'config');
      for (const l of m.layers) if (!(isForeignLayerMediaType(l.mediaType) && l.urls?.length)) missing(l, this.blobs, 'layer');
      subject = m.subject;
      artifactType = m.artifactType ?? (m.subject ? m.config.mediaType : undefined);
      annotations = m.annotations;
    }
    this.manifests.set(digest, { raw, mediaType });
    if (subject && !(this.referrers.get(subject.digest) ?? []).some((d) => d.digest === digest)) {
      const d: Descriptor = { mediaType, digest, size: raw.length, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) };
      this.referrers.set(subject.digest, [...(this.referrers.get(subject.digest) ?? []), d]);
    }
    if (!byDigest) this.tags.set(reference, digest);
    return digest;
  }

  async headManifest(reference: string): Promise<{ digest: Digest } | undefined> {
    this.enter({ op: 'headManifest', target: reference });
    const digest = reference.startsWith('sha256:') ? (this.manifests.has(reference as Digest) ? (reference as Digest) : undefined) : this.tags.get(reference);
    return digest ? { digest } : undefined;
  }

  /** With `commitStep`: the moment what was put becomes the place's. */
  async close(): Promise<void> {
    this.enter({ op: 'close', target: this.name });
    this.state = 'closed';
  }

  /** With `commitStep`: drop everything put. Safe to call again, and a no-op after close(). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.blobs.clear();
    this.manifests.clear();
    this.tags.clear();
    this.referrers.clear();
  }

  /** What an outsider sees: with a commit step, nothing until close(). */
  visibleTags(): Map<string, Digest> {
    return this.opts.commitStep && this.state !== 'closed' ? new Map() : this.tags;
  }

  /** The puts of manifests under a reference, in order: `reference digest`. */
  manifestPuts(): MemoryCall[] {
    return this.log.filter((c) => c.op === 'putManifest');
  }

  /** The place publish writes into (`openedPlace(memoryPlace(sink))`). */
  place(): Place {
    const base = this.name;
    const at = (t: string) => `${base}${t.startsWith('sha256:') ? '@' : ':'}${t}`;
    return {
      sink: this,
      name: base,
      reference: at,
      // The sink keeps referrers as a registry with the API does: from each manifest's subject.
      recordReferrer: async () => 'api',
      ...(this.opts.imagesOnly ? { imagesOnly: true } : {}),
      ...(this.opts.commitStep ? { close: () => this.close(), abort: () => this.abort() } : {}),
    };
  }
}

async function readAll(stream: Readable, onProgress?: ProgressFn): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(b);
    n += b.length;
    onProgress?.(n);
  }
  return Buffer.concat(chunks);
}

