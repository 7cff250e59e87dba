import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { BlobMeasure } from '../image/blob-measure.js';
import type { Digest } from '../image/digest.js';
import { fileRangeSource } from '../image/sources.js';
import type { ByteSource } from '../image/types.js';
import { ownedTempDir } from '../util/temp-dir.js';

/** A layer compressed in this publish: what it became, and its bytes for every place that needs them. */
export interface CompressedLayer {
  digest: Digest;
  size: number;
  source: ByteSource;
}

/**
 * Layers compressed on the way, once per publish however many places need them. With one
 * place the compressed stream goes straight into the upload (compression and upload
 * overlap) and nothing is shared. With several, the first place to need a layer compresses
 * it into a temp file (hashing it as it goes) and every place uploads that file: the CPU
 * cost is paid once, the temp space is the compressed size of the layers in flight, and a
 * file is removed when the publish ends (docs/decisions.md "Several destinations").
 * Also counts what was compressed, for the result.
 */
export class Compressions {
  private readonly spooled = new Map<string, Promise<CompressedLayer>>();
  private dir: Promise<{ dir: string; remove(): Promise<void> }> | undefined;
  private n = 0;
  /** Layers compressed and their uncompressed bytes read, this publish. */
  readonly work = { layers: 0, bytes: 0 };

  constructor(readonly shared: boolean) {}

  /** Count one compression of `plain` (a stream about to be compressed); returns it, counted as it flows. */
  counted(plain: Readable): Readable {
    this.work.layers++;
    const counter = new Transform({
      transform: (chunk: Buffer, _e, cb) => {
        this.work.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    plain.on('error', (e) => counter.destroy(e));
    return plain.pipe(counter);
  }

  /** The layer `key` names, compressed once into a temp file by `produce` (several places). */
  once(key: string, produce: () => Readable): Promise<CompressedLayer> {
    let p = this.spooled.get(key);
    if (!p) {
      p = this.spool(produce);
      this.spooled.set(key, p);
    }
    return p;
  }

  /** Remove the temp files. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.spooled.values()]);
    if (this.dir) await (await this.dir).remove();
  }

  private async spool(produce: () => Readable): Promise<CompressedLayer> {
    this.dir ??= ownedTempDir();
    const path = join((await this.dir).dir, `layer-${this.n++}`);
    const measure = new BlobMeasure(undefined);
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        measure.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(produce(), tap, createWriteStream(path, { mode: 0o600 }));
    const { digest, size } = measure.finish();
    return { digest, size, source: fileRangeSource(path, 0, size, `${digest} (compressed here)`) };
  }
}
