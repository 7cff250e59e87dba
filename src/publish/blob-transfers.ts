import type { Readable } from 'node:stream';
import type { DigestCache } from '../cache/digest-cache.js';
import type { Digest } from '../image/digest.js';
import type { Compression } from '../image/media-types.js';
import type { BlobAction } from '../image/sink.js';
import type { ByteSource, Layer, MountFrom } from '../image/types.js';
import type { PublishListener } from './events.js';
import type { Place } from '../places/open-sink.js';
import type { LearnedPairings } from './learned-pairings.js';
import type { Compressions } from './shared-compression.js';
import { transcode } from './transcode.js';

export interface StoredBlob {
  digest: Digest;
  size: number;
  action: BlobAction;
  /** Set when the blob came from the cache's record of a proven pair (nothing to check again). */
  proven?: boolean;
}

type Run = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * Makes blobs present in one place, each at most once (images of an index share layers),
 * walking the ladder: present already → mount from a repository the cache knows → upload.
 * The registry client owns the HTTP side of the ladder (single POST, PUT, PATCH, chunks).
 */
export class BlobTransfers {
  private readonly inFlight = new Map<string, Promise<StoredBlob>>();
  readonly results: StoredBlob[] = [];

  constructor(
    private readonly place: Place,
    private readonly run: Run,
    private readonly cache: DigestCache | undefined,
    private readonly emit: PublishListener,
    /** Shared by every place of the publish: what registries' images claim, and the layers compressed. */
    private readonly pairings?: LearnedPairings,
    private readonly compressions?: Compressions,
  ) {}

  /** A blob whose digest is known, uploaded from `source` unless present. */
  ensure(kind: 'config' | 'layer', digest: Digest, source: ByteSource, mountFrom?: MountFrom): Promise<StoredBlob> {
    if (!this.inFlight.has(digest)) this.emit({ type: 'blob-queued', place: this.place.name, id: digest, size: source.size });
    return this.once(digest, () =>
      this.run(async () => {
        this.emit({ type: 'blob-start', place: this.place.name, id: digest, kind, size: source.size, compressing: false });
        const action = await this.presentOrMounted(digest, source.size, mountFrom);
        if (!action) {
          await this.place.sink.putBlob(digest, source, (sent) => this.progress(digest, sent, source.size));
        }
        return this.finish(digest, { digest, size: source.size, action: action ?? 'uploaded' });
      }),
    );
  }

  /**
   * A layer stored in one compression and published in another (docker save's plain tars
   * are gzipped). Before compressing: the blob an earlier run of this user produced (the
   * digest cache), then one a registry's image pairs with the layer (learned-pairings.ts),
   * each used only when the place holds it or mounts it. Otherwise the layer is compressed,
   * once per publish however many places need it (shared-compression.ts).
   */
  ensureTranscoded(layer: Layer, open: () => Readable, target: Compression, level: number): Promise<StoredBlob> {
    const id = `${layer.diffId}>${target}:${level}`;
    if (!this.inFlight.has(id)) this.emit({ type: 'blob-queued', place: this.place.name, id });
    return this.once(id, () =>
      this.run(async () => {
        this.emit({ type: 'blob-start', place: this.place.name, id, kind: 'layer', compressing: true });
        // The cache names the blob an earlier run of this user produced and proved; it is a
        // hint until the place confirms that blob, with that size.
        const known = target === 'none' ? undefined : this.cache?.produced(layer.diffId, target, level);
        if (known) {
          const action = await this.presentOrMounted(known.digest, known.size);
          if (action) return this.finish(id, { digest: known.digest, size: known.size, action, proven: true });
        }
        if (target !== 'none' && this.pairings) {
          for await (const c of this.pairings.candidates(this.place, layer.diffId, target)) {
            const action = await this.presentOrMounted(c.digest, c.size, c.mountFrom);
            if (action && (await this.pairings.prove(c, layer.diffId, target))) return this.finish(id, { digest: c.digest, size: c.size, action, proven: true });
          }
        }
        const produce = () => transcode(this.compressions && target !== 'none' ? this.compressions.counted(open()) : open(), layer.compression, target, level);
        if (this.compressions?.shared) {
          const made = await this.compressions.once(id, produce);
          const action = await this.presentOrMounted(made.digest, made.size);
          if (!action) await this.place.sink.putBlob(made.digest, made.source, (sent) => this.progress(id, sent, made.size));
          return this.finish(id, { digest: made.digest, size: made.size, action: action ?? 'uploaded' });
        }
        const stored = await this.place.sink.putStream(produce, (sent) => this.progress(id, sent, undefined));
        return this.finish(id, { ...stored, action: 'uploaded' });
      }),
    );
  }

  /**
   * Remember that `blob` holds `layer`'s content, proven by this run: a plain layer whose
   * bytes matched its diff_id and were compressed into it, or a compressed layer whose diff_id
   * check completed. A later run may then skip compressing or re-verifying it.
   */
  recordProven(blob: StoredBlob, layer: Layer, compression: Compression, level: number): void {
    this.cache?.recordVerified({ digest: blob.digest, size: blob.size, diffId: layer.diffId, compression, level });
  }

  /** For the progress display: a stored blob's content check is awaited, then done. */
  phase(blob: StoredBlob, phase: 'verifying' | 'verified'): void {
    this.emit({ type: 'blob-phase', place: this.place.name, digest: blob.digest, phase });
  }

  /** The place's display name. */
  get placeName(): string {
    return this.place.name;
  }

  /** Whether an earlier run of this user proved `layer`'s stored bytes against its diff_id. */
  provenBefore(layer: Layer): boolean {
    return this.cache?.verified(layer.digest, layer.diffId)?.size === layer.size;
  }

  private once(key: string, start: () => Promise<StoredBlob>): Promise<StoredBlob> {
    let p = this.inFlight.get(key);
    if (!p) {
      p = start();
      this.inFlight.set(key, p);
    }
    return p;
  }

  /**
   * Present already, or mounted from a repository of the same registry that holds it: the
   * source's own (a registry source says where it read the blob), then those the cache knows.
   */
  private async presentOrMounted(digest: Digest, size: number, mountFrom?: MountFrom): Promise<BlobAction | undefined> {
    const { sink, registry, repository } = this.place;
    if (await sink.hasBlob(digest, size)) return 'exists';
    if (!sink.mountBlob || !registry || !repository) return undefined;
    const candidates = [...(mountFrom?.registry === registry ? [mountFrom.repository] : []), ...(this.cache?.repositoriesHolding(digest, registry) ?? [])];
    for (const from of new Set(candidates)) {
      if (from !== repository && (await sink.mountBlob(digest, from))) return 'mounted';
    }
    return undefined;
  }

  private progress(id: string, sent: number, size: number | undefined): void {
    this.emit({ type: 'blob-progress', place: this.place.name, id, sent, size });
  }

  private finish(id: string, blob: StoredBlob): StoredBlob {
    const { registry, repository } = this.place;
    if (registry && repository) this.cache?.recordLocation(blob.digest, registry, repository);
    const { proven: _, ...shown } = blob;
    this.results.push(shown);
    this.emit({ type: 'blob-done', place: this.place.name, id, ...shown });
    return blob;
  }
}
