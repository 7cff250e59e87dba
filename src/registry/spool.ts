import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { ownedTempDir } from '../util/temp-dir.js';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { sourceReadError, TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';

/**
 * Byte producers for uploads whose digest is not known in advance: one `Opening` of the
 * producer (hashing and counting every byte once as it is read, optionally copying it to a
 * spool file), and the spool file itself (used when a registry will not take a streamed
 * PATCH, so the stream is produced — compressed — only once).
 */

/** A temp file receiving a copy of streamed bytes. */
export class Spool {
  private ws: WriteStream;
  bytes = 0;
  private constructor(
    private readonly dir: { remove(): Promise<void> },
    readonly path: string,
  ) {
    this.ws = createWriteStream(path);
    this.ws.on('error', () => {}); // surfaced by write()/finish()
  }

  /** In a temp directory of this process: removed on signals too, and swept by a later run if it dies. */
  static async create(parent?: string): Promise<Spool> {
    const dir = await ownedTempDir(parent);
    return new Spool(dir, join(dir.dir, 'blob'));
  }

  async write(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    if (!this.ws.write(chunk)) await once(this.ws, 'drain');
  }

  /** Flush and close the file. */
  async finish(): Promise<void> {
    this.ws.end();
    if (!this.ws.closed) await once(this.ws, 'close');
  }

  async remove(): Promise<void> {
    this.ws.destroy();
    await this.dir.remove();
  }
}

/** One opening of a deterministic producer: its bytes, read once each, hashed and counted. */
export class Opening {
  private readonly stream: Readable;
  private readonly iter: AsyncIterator<Buffer>;
  private readonly hash: Hash = createHash('sha256');
  /** Bytes read from the producer so far. */
  bytes = 0;
  ended = false;

  constructor(open: () => Readable, readonly tee?: Spool) {
    this.stream = open();
    // destroyOnReturn false: when a request stops pulling (registry refused it), the rest of
    // the stream can still be read into the spool.
    this.iter = this.stream.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next chunk (hashed, counted, copied to the tee), or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    if (this.ended) return undefined;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.iter.next();
    } catch (err) {
      throw sourceReadError(err, 'producing the stream to upload failed');
    }
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.tee) await this.tee.write(chunk);
    return chunk;
  }

  /**
   * The bytes as a request body, leaving out the first `skip` (the registry holds them
   * already; they are still hashed). `onBytes` counts what is sent.
   */
  body(skip: number, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        for (let chunk = await self.next(); chunk; chunk = await self.next()) {
          const before = self.bytes - chunk.length;
          if (self.bytes <= skip) continue;
          const part = before < skip ? chunk.subarray(skip - before) : chunk;
          onBytes(part.length);
          yield part;
        }
        if (self.bytes < skip) {
          throw new TarpushError('SIZE_MISMATCH', `the stream to upload ended after ${self.bytes} bytes, before the ${skip} the registry already holds`);
        }
      },
    };
  }

  /** Up to `n` bytes (fewer only at the end). */
  async read(n: number, pending: Buffer[]): Promise<Buffer> {
    let have = pending.reduce((s, b) => s + b.length, 0);
    while (have < n) {
      const chunk = await this.next();
      if (!chunk) break;
      pending.push(chunk);
      have += chunk.length;
    }
    const all = Buffer.concat(pending);
    pending.length = 0;
    if (all.length > n) pending.push(all.subarray(n));
    return all.subarray(0, Math.min(n, all.length));
  }

  /** Read what is left (into the tee). */
  async drain(): Promise<void> {
    while (await this.next());
  }

  digest(): Digest {
    if (!this.ended) throw new Error('digest of a stream that has not ended');
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  destroy(): void {
    this.stream.destroy();
  }
}
