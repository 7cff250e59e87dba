import { Readable, finished } from 'node:stream';
import zlib from 'node:zlib';
import { TarpushError } from '../errors.js';
import { noteBufferChurn } from '../util/dead-buffers.js';
import { ByteBudget } from './block-budget.js';
import {
  DEFAULT_GZIP_BLOCK_SIZE,
  DEFAULT_GZIP_LEVEL,
  GZIP_BLOCK_BUDGET,
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
 *
 * Memory: the blocks in flight of all streams share one byte budget (`gzipBlockBudget`), a
 * block is assembled in a reused buffer (unless it is part of one input chunk already), and
 * a compressed block is copied out of zlib's worst-case-sized output buffer, so a stream
 * holds little more than its blocks' bytes (docs/decisions.md "Memory").
 */

/** Blocks in flight of every stream of the process (unless a stream is given its own budget). */
export const gzipBlockBudget = new ByteBudget(GZIP_BLOCK_BUDGET);

/**
 * Block-sized buffers whose blocks are compressed, reused for new blocks by every stream of
 * the process: no more than the budget's worth are kept, and none once no stream is left.
 */
const spare = {
  size: 0,
  buffers: [] as Buffer[],
  streams: 0,
  take(size: number): Buffer {
    const b = size === this.size ? this.buffers.pop() : undefined;
    if (b) return b;
    noteBufferChurn(size);
    return Buffer.allocUnsafe(size);
  },
  give(b: Buffer): void {
    if (this.streams === 0) return;
    if (b.length !== this.size) {
      this.size = b.length;
      this.buffers = [];
    }
    if (this.buffers.length * b.length < GZIP_BLOCK_BUDGET) this.buffers.push(b);
  },
  opened(): void {
    this.streams++;
  },
  closed(): void {
    if (--this.streams === 0) this.buffers = [];
  },
};

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
  /** Budget of block bytes in flight, shared with other streams (default gzipBlockBudget). */
  budget?: ByteBudget;
}

/** Deflate's window: the most a match can reach back, so the most dictionary that helps. */
const WINDOW = 32 * 1024;

interface Job {
  /** Input bytes, held until the job is started (then dropped). */
  block?: Buffer;
  /** The spare buffer holding `block`, given back when the block is compressed. */
  reusable?: Buffer;
  dictionary?: Buffer;
  /** Input bytes taken from the budget, given back once the output is pushed. */
  reserved: number;
  last: boolean;
  state: 'waiting' | 'running' | 'done';
  out?: Buffer;
}

class ParallelGzipStream extends Readable {
  private readonly input: Readable;
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  /** Blocks held at once (waiting + running + done but not yet pushed), besides the budget. */
  private readonly maxQueued: number;
  private readonly budget: ByteBudget;
  /** Bytes this stream holds of the budget. */
  private held = 0;
  private waitingForRoom = false;
  private readonly retry = (): void => {
    this.waitingForRoom = false;
    if (this.destroyed) return;
    this.cut();
    this.schedule();
    this.flush();
  };
  private lastCut = false;

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
    this.budget = opts.budget ?? gzipBlockBudget;
    this.jobs.push({ last: false, state: 'done', reserved: 0, out: gzipHeader(this.level) });
    spare.opened();
    // However the stream ends (trailer pushed, destroyed), the spare buffers are released with the last one.
    finished(this, { readable: true, writable: false }, () => spare.closed());
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
    this.budget.unwait(this.retry);
    const held = this.held;
    this.held = 0;
    if (held > 0) this.budget.give(held);
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
    noteBufferChurn(buf.length);
    this.cut();
    this.schedule();
  }

  private onEnd(): void {
    if (this.destroyed) return;
    this.inputEnded = true;
    this.cut();
    this.schedule();
    this.flush();
  }

  /**
   * Cut the pending input into blocks while the budget has room. A full block is cut only
   * once a byte beyond it has arrived, so the last block is never empty (unless the whole
   * input is) and is the one that gets Z_FINISH. While a whole block waits for room the
   * input is paused: at most one input chunk more is pending.
   */
  private cut(): void {
    while (!this.lastCut && (this.pendingBytes > this.blockSize || this.inputEnded)) {
      const last = this.pendingBytes <= this.blockSize;
      const n = last ? this.pendingBytes : this.blockSize;
      if (this.jobs.length >= this.maxQueued) break; // flush() cuts again as blocks go out
      if (!this.budget.take(n, this.held)) {
        if (!this.waitingForRoom) {
          this.waitingForRoom = true;
          this.budget.wait(this.retry);
        }
        break;
      }
      this.held += n;
      this.enqueue(n, last);
      if (last) {
        this.lastCut = true;
        this.trailer = gzipTrailer(this.crc, this.total);
      }
    }
    const full = this.pendingBytes > this.blockSize;
    if (full && !this.inputPaused && !this.inputEnded) {
      this.inputPaused = true;
      this.input.pause();
    } else if (!full && this.inputPaused) {
      this.inputPaused = false;
      this.input.resume();
    }
  }

  /** Remove exactly n bytes from the front of the pending input, as a block job. */
  private enqueue(n: number, last: boolean): void {
    let block: Buffer;
    let reusable: Buffer | undefined;
    const head = this.pending[0];
    if (n === 0) {
      block = Buffer.alloc(0); // the whole input was empty
    } else if (head && head.length >= n) {
      block = head.subarray(0, n); // part of one input chunk: no copy
      if (head.length === n) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    } else {
      reusable = spare.take(this.blockSize);
      block = reusable.subarray(0, n);
      let at = 0;
      while (at < n) {
        const part = this.pending[0]!;
        const take = Math.min(part.length, n - at);
        part.copy(block, at, 0, take);
        at += take;
        if (take === part.length) this.pending.shift();
        else this.pending[0] = part.subarray(take);
      }
    }
    this.pendingBytes -= n;
    const dictionary = this.tail.length > 0 ? this.tail : undefined;
    // A copy: the block's buffer is reused once the block is compressed, maybe before the
    // next block (whose dictionary this is) starts.
    this.tail = block.length >= WINDOW ? Buffer.from(block.subarray(block.length - WINDOW)) : Buffer.concat([this.tail, block]).subarray(-WINDOW);
    this.jobs.push({ block, reusable, dictionary, reserved: n, last, state: 'waiting' });
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
      // One output buffer big enough for the whole block: fewer threadpool round trips, and
      // the bytes cannot depend on where an output buffer filled up (zlib repeats a sync flush
      // marker when the output ends exactly at one).
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
      // zlib is done with the input: its buffer can take another block.
      if (job.reusable) spare.give(job.reusable);
      job.reusable = undefined;
      // The output sits in a buffer sized for the worst case (the block plus an eighth):
      // copy it out when most of that is unused, so a queued block holds only its bytes.
      const room = out.buffer.byteLength;
      job.out = out.length * 2 < room ? Buffer.from(out) : out;
      noteBufferChurn(room);
      this.schedule();
      this.flush();
    });
  }

  /** Push finished output in order, as far as downstream wants it. */
  private flush(): void {
    let freed = 0;
    while (!this.downstreamFull && this.jobs.length > 0 && this.jobs[0]!.state === 'done') {
      const job = this.jobs.shift()!;
      freed += job.reserved;
      if (job.out!.length > 0 && !this.push(job.out)) this.downstreamFull = true;
    }
    if (this.jobs.length === 0 && this.lastCut && !this.ended && !this.downstreamFull) {
      this.ended = true;
      this.push(this.trailer!);
      this.push(null);
    }
    if (freed > 0) {
      this.held -= freed;
      this.budget.give(freed); // may cut more of this stream (retry) and of others
    }
    if (!this.ended && !this.destroyed) {
      this.cut();
      this.schedule();
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
  return new ParallelGzipStream(input, { level, blockSize, concurrency, budget: opts.budget ?? gzipBlockBudget });
}
