import { Readable, finished } from 'node:stream';
import zlib from 'node:zlib';
import { TarpushError } from '../errors.js';
import {
  DEFAULT_GZIP_BLOCK_SIZE,
  DEFAULT_GZIP_LEVEL,
  MAX_GZIP_BLOCK_SIZE,
  MIN_GZIP_BLOCK_SIZE,
  assertCompressionLevel,
  defaultGzipConcurrency,
} from './defaults.js';
import { gzipHeader, gzipTrailer } from './gzip-frame.js';

/**
 * Parallel gzip in the manner of pigz.
 *
 * The input is cut into blocks at fixed offsets (every `blockSize` bytes). Each block is
 * raw-deflated on its own by node:zlib's async API, which runs on the libuv threadpool, so
 * several blocks in flight use several cores. A block is primed with the 32 KiB of input
 * before it as the deflate dictionary, so matches reaching back into the previous block
 * are still found and the ratio stays close to single-stream gzip. Every block but the
 * last ends with a sync flush (byte-aligned, not final); the last ends with Z_FINISH, so
 * the blocks concatenate into one valid deflate stream.
 *
 * The output depends only on the input bytes, the level and the block size: not on the
 * concurrency, the timing, or how the input stream happens to be chunked. That is what
 * lets an upload be retried by compressing again and getting the same digest. (It is
 * stable for one Node build; another zlib build may choose different matches.)
 */

export interface GzipParallelOptions {
  /** Deflate level 1-9 (default DEFAULT_GZIP_LEVEL). */
  level?: number;
  /** Input bytes per block (default DEFAULT_GZIP_BLOCK_SIZE). Changes the output bytes. */
  blockSize?: number;
  /**
   * Blocks compressed at once (default defaultGzipConcurrency()). Never changes the output.
   * The blocks run on the libuv threadpool (UV_THREADPOOL_SIZE, 4 by default), which also caps it.
   */
  concurrency?: number;
}

/** Deflate's window: the most a match can reach back, so the most dictionary that helps. */
const WINDOW = 32 * 1024;

interface Job {
  /** Input bytes, held until the job is started (then dropped). */
  block?: Buffer;
  dictionary?: Buffer;
  last: boolean;
  state: 'waiting' | 'running' | 'done';
  out?: Buffer;
}

class ParallelGzipStream extends Readable {
  private readonly input: Readable;
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  /** Blocks held at once (waiting + running + done but not yet pushed): bounds memory. */
  private readonly maxQueued: number;

  private started = false;
  private inputPaused = false;
  private inputEnded = false;
  /** Downstream asked us to stop (push returned false) until it calls _read again. */
  private downstreamFull = false;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The last ≤ 32 KiB of input already cut into blocks: the next block's dictionary. */
  private tail: Buffer = Buffer.alloc(0);
  private crc = 0;
  private total = 0;

  /** Output in order: header, blocks, trailer. */
  private readonly jobs: Job[] = [];
  private running = 0;
  private trailer?: Buffer;
  private ended = false;

  constructor(input: Readable, opts: GzipParallelOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.input = input;
    this.level = opts.level ?? DEFAULT_GZIP_LEVEL;
    this.blockSize = opts.blockSize ?? DEFAULT_GZIP_BLOCK_SIZE;
    this.concurrency = opts.concurrency ?? defaultGzipConcurrency();
    this.maxQueued = this.concurrency * 2 + 1;
    this.jobs.push({ last: false, state: 'done', out: gzipHeader(this.level) });
  }

  override _read(): void {
    this.downstreamFull = false;
    if (!this.started) this.start();
    this.flush();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // The stream owns its input: stop reading it (and release its file descriptor).
    if (!this.input.destroyed) this.input.destroy();
    this.jobs.length = 0;
    this.pending = [];
    cb(err);
  }

  private start(): void {
    this.started = true;
    finished(this.input, (err) => {
      if (err && !this.destroyed) this.destroy(err);
    });
    if (this.input.readableEnded) {
      this.onEnd(); // handed an input that had already ended: nothing more will come
      return;
    }
    this.input.on('data', (chunk: unknown) => this.onData(chunk));
    this.input.on('end', () => this.onEnd());
  }

  private onData(chunk: unknown): void {
    if (this.destroyed) return;
    const buf = toBuffer(chunk);
    if (buf === undefined) {
      this.destroy(new TarpushError('USAGE', `gzip input must be bytes, got ${typeof chunk}`));
      return;
    }
    if (buf.length === 0) return;
    this.crc = zlib.crc32(buf, this.crc);
    this.total += buf.length;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    // Cut a full block only once a byte beyond it has arrived, so the last block is never
    // empty (unless the whole input is) and is the one that gets Z_FINISH.
    while (this.pendingBytes > this.blockSize) this.enqueue(this.takeBytes(this.blockSize), false);
    this.schedule();
    if (this.jobs.length >= this.maxQueued && !this.inputPaused) {
      this.inputPaused = true;
      this.input.pause();
    }
  }

  private onEnd(): void {
    if (this.destroyed) return;
    this.inputEnded = true;
    this.enqueue(this.takeBytes(this.pendingBytes), true);
    this.trailer = gzipTrailer(this.crc, this.total);
    this.schedule();
    this.flush();
  }

  /** Remove exactly n bytes from the front of the pending input. */
  private takeBytes(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.pending[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.pending.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.pendingBytes -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  private enqueue(block: Buffer, last: boolean): void {
    const dictionary = this.tail.length > 0 ? this.tail : undefined;
    this.tail =
      block.length >= WINDOW
        ? block.subarray(block.length - WINDOW)
        : Buffer.concat([this.tail, block]).subarray(-WINDOW);
    this.jobs.push({ block, dictionary, last, state: 'waiting' });
  }

  /** Start waiting jobs, oldest first, up to the concurrency. */
  private schedule(): void {
    for (const job of this.jobs) {
      if (this.running >= this.concurrency) return;
      if (job.state === 'waiting') this.run(job);
    }
  }

  private run(job: Job): void {
    job.state = 'running';
    this.running++;
    const block = job.block!;
    const opts: zlib.ZlibOptions = {
      level: this.level,
      finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      // One output buffer big enough for the whole block: fewer threadpool round trips.
      chunkSize: Math.max(16 * 1024, block.length + (block.length >>> 3) + 1024),
    };
    if (job.dictionary) opts.dictionary = job.dictionary;
    job.block = undefined;
    job.dictionary = undefined;
    zlib.deflateRaw(block, opts, (err, out) => {
      this.running--;
      if (this.destroyed) return;
      if (err) {
        this.destroy(err); // zlib itself failed (out of memory): nothing a user can act on
        return;
      }
      job.state = 'done';
      job.out = out;
      this.schedule();
      this.flush();
    });
  }

  /** Push finished output in order, as far as downstream wants it. */
  private flush(): void {
    while (!this.downstreamFull && this.jobs.length > 0 && this.jobs[0]!.state === 'done') {
      const job = this.jobs.shift()!;
      if (job.out!.length > 0 && !this.push(job.out)) this.downstreamFull = true;
    }
    if (this.jobs.length === 0 && this.inputEnded && !this.ended && !this.downstreamFull) {
      this.ended = true;
      this.push(this.trailer!);
      this.push(null);
      return;
    }
    if (this.inputPaused && !this.inputEnded && this.jobs.length < this.maxQueued) {
      this.inputPaused = false;
      this.input.resume();
    }
  }
}

function toBuffer(chunk: unknown): Buffer | undefined {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return undefined;
}

/**
 * Gzip `input` using several cores. The returned stream owns `input`: it reads it with
 * backpressure and destroys it if the output is destroyed. Input errors come out as
 * errors of the returned stream.
 */
export function gzipParallel(input: Readable, opts: GzipParallelOptions = {}): Readable {
  const level = opts.level ?? DEFAULT_GZIP_LEVEL;
  assertCompressionLevel('gzip', level);
  const blockSize = opts.blockSize ?? DEFAULT_GZIP_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < MIN_GZIP_BLOCK_SIZE || blockSize > MAX_GZIP_BLOCK_SIZE) {
    throw new TarpushError(
      'USAGE',
      `gzip block size must be an integer from ${MIN_GZIP_BLOCK_SIZE} to ${MAX_GZIP_BLOCK_SIZE} bytes, got ${blockSize}`,
    );
  }
  const concurrency = opts.concurrency ?? defaultGzipConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TarpushError('USAGE', `gzip concurrency must be a positive integer, got ${concurrency}`);
  }
  return new ParallelGzipStream(input, { level, blockSize, concurrency });
}
