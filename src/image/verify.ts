import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { TarpushError } from '../errors.js';
import { sha256, type Digest } from './digest.js';
import type { FromWorker, ToWorker } from './verify-worker.js';
import type { ByteSource, Image, ImageIndex, Layer } from './types.js';

/**
 * Content verification while bytes stream: the stored digest and size of a layer are
 * hashed on the main thread as the bytes go by; for gzip layers the diff_id (sha256 of the
 * uncompressed tar) is computed on a worker thread from copies of the same chunks, so an
 * upload reads the archive once and still proves that the config's rootfs.diff_ids match.
 *
 * zstd layers: Node 20's zlib has no zstd decoder, so only their stored digest and size
 * are checked; their diff_id stays unverified (registries do not check it either; a
 * runtime pulling the image does).
 */

/**
 * Optional facts a Layer implementation may carry for verification. Readers set
 * `diffIdDeclared: false` for artifact layers, whose manifest has no rootfs to check.
 */
export interface LayerVerifyHints {
  readonly diffIdDeclared?: boolean;
}

const diffIdDeclared = (layer: Layer): boolean => (layer as Layer & LayerVerifyHints).diffIdDeclared !== false;

// ---------------------------------------------------------------------------------------
// Worker pool for diff_id computation.

/** Chunks handed to a worker but not yet consumed; above this the reader waits (memory stays flat). */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

interface PoolWorker {
  worker: Worker;
  /** Jobs assigned (for load balancing). */
  active: number;
  /** Jobs with work the worker still owes us (chunks in flight, or ended and awaiting the digest). */
  busy: number;
}

interface JobState {
  owner: PoolWorker;
  inFlight: number;
  ended: boolean;
  busy: boolean;
  drained: (() => void) | undefined;
  resolve: (r: { digest: Digest; size: number }) => void;
  reject: (e: Error) => void;
}

class DiffIdPool {
  private readonly workers: PoolWorker[] = [];
  private readonly jobs = new Map<number, JobState>();
  private nextId = 1;
  // Decompression runs on the libuv threadpool; a worker mostly hashes. One worker fewer
  // than the cores leaves one for the upload (and a worker is ~20 MB of memory).
  private readonly size = Math.max(1, availableParallelism() - 1);

  /** Start a job on the least busy worker (spawning one while the pool is below its size). */
  start(file?: { path: string; start: number; end: number }): DiffIdJob {
    let owner = this.workers.reduce<PoolWorker | undefined>((best, w) => (!best || w.active < best.active ? w : best), undefined);
    if (!owner || (owner.active > 0 && this.workers.length < this.size)) owner = this.spawn();
    owner.active++;
    const id = this.nextId++;
    let resolve!: JobState['resolve'];
    let reject!: JobState['reject'];
    const result = new Promise<{ digest: Digest; size: number }>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {}); // observed through finish(); never an unhandled rejection
    const job: JobState = { owner, inFlight: 0, ended: false, busy: false, drained: undefined, resolve, reject };
    this.jobs.set(id, job);
    if (file) {
      // The worker reads the range itself: it owes a result from now on.
      job.ended = true;
      this.setBusy(job, true);
      this.send(owner, { op: 'file', id, ...file });
    } else {
      this.send(owner, { op: 'start', id });
    }
    return new DiffIdJob(this, id, result, !!file);
  }

  /** Hand a copy of a chunk to the job's worker; resolves when there is room for more. */
  push(id: number, chunk: Buffer): Promise<void> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    // A copy: the caller's buffer goes on to the upload and may be pooled or reused.
    const copy = new Uint8Array(chunk);
    job.inFlight += copy.byteLength;
    this.setBusy(job, true);
    job.owner.worker.postMessage({ op: 'data', id, chunk: copy } satisfies ToWorker, [copy.buffer]);
    if (job.inFlight < MAX_IN_FLIGHT) return undefined;
    return new Promise((res) => {
      job.drained = res;
    });
  }

  end(id: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.ended = true;
    this.setBusy(job, true);
    this.send(job.owner, { op: 'end', id });
  }

  cancel(id: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.send(job.owner, { op: 'cancel', id });
    this.settle(id, job);
    job.drained?.();
    job.reject(new Error('cancelled'));
  }

  /** Terminate all workers (jobs in progress fail). */
  async shutdown(): Promise<void> {
    const all = this.workers.splice(0);
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id);
      job.drained?.();
      job.reject(new Error('verification pool shut down'));
    }
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  private send(w: PoolWorker, m: ToWorker): void {
    w.worker.postMessage(m);
  }

  /**
   * A worker keeps the process alive only while it owes a result: a job whose reader
   * stopped reading (but was never destroyed) must not hold the process open.
   */
  private setBusy(job: JobState, busy: boolean): void {
    if (job.busy === busy) return;
    job.busy = busy;
    job.owner.busy += busy ? 1 : -1;
    if (job.owner.busy === 0) job.owner.worker.unref();
    else if (busy && job.owner.busy === 1) job.owner.worker.ref();
  }

  private settle(id: number, job: JobState): void {
    this.jobs.delete(id);
    this.setBusy(job, false);
    job.owner.active--;
  }

  private spawn(): PoolWorker {
    // execArgv: [] — the worker must not inherit flags such as --input-type or --eval.
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url), { execArgv: [] });
    const pw: PoolWorker = { worker, active: 0, busy: 0 };
    worker.unref();
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    const fail = (err: Error) => {
      const i = this.workers.indexOf(pw);
      if (i >= 0) this.workers.splice(i, 1);
      for (const [id, job] of this.jobs) {
        if (job.owner !== pw) continue;
        this.jobs.delete(id);
        job.drained?.();
        job.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`verification worker exited (code ${code})`)));
    this.workers.push(pw);
    return pw;
  }

  private onMessage(m: FromWorker): void {
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.op === 'ack') {
      job.inFlight -= m.bytes;
      if (job.inFlight === 0 && !job.ended) this.setBusy(job, false);
      if (job.drained && job.inFlight < MAX_IN_FLIGHT / 2) {
        const d = job.drained;
        job.drained = undefined;
        d();
      }
      return;
    }
    this.settle(m.id, job);
    if (m.op === 'done') job.resolve({ digest: m.digest as Digest, size: m.size });
    else job.reject(new Error(m.message));
  }
}

class DiffIdJob {
  constructor(
    private readonly pool: DiffIdPool,
    private readonly id: number,
    private readonly result: Promise<{ digest: Digest; size: number }>,
    /** The worker reads the bytes from the file itself: nothing to feed it. */
    private readonly selfFed: boolean,
  ) {}
  push(chunk: Buffer): Promise<void> | undefined {
    return this.selfFed ? undefined : this.pool.push(this.id, chunk);
  }
  finish(): Promise<{ digest: Digest; size: number }> {
    if (!this.selfFed) this.pool.end(this.id);
    return this.result;
  }
  cancel(): void {
    this.pool.cancel(this.id);
  }
}

let pool: DiffIdPool | undefined;
const getPool = (): DiffIdPool => (pool ??= new DiffIdPool());

/** Stop the verification workers (idle workers never keep the process alive; this frees them at once). */
export async function shutdownVerifyPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.shutdown();
}

// ---------------------------------------------------------------------------------------
// Verifying streams.

function mismatch(code: 'DIGEST_MISMATCH' | 'DIFF_ID_MISMATCH', layer: Layer, expected: string, actual: string, what: string): TarpushError {
  return new TarpushError(code, `${layer.source.location}: ${what} expected ${expected}, content has ${actual}`, {
    entry: layer.source.location,
    expected,
    actual,
  });
}

/**
 * A pass-through that checks a full read of a layer's stored bytes. On a mismatch it
 * errors the stream (the upload reading it aborts) and reports the error via `onResult`.
 */
class LayerChecker extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly job: DiffIdJob | undefined;
  private finished = false;

  constructor(
    private readonly layer: Layer,
    private readonly onResult: (err: Error | undefined) => void,
    opts: VerifyOptions,
  ) {
    super();
    const file = layer.source.file;
    // A file-backed layer is read by the worker itself, so decompression never holds back
    // the upload and no copies cross threads; other sources are fed chunk by chunk.
    this.job =
      layer.compression === 'gzip' && diffIdDeclared(layer) && opts.diffIds !== false
        ? getPool().start(file && { path: file.path, start: file.offset, end: file.offset + layer.size })
        : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const wait = this.job?.push(chunk);
    this.push(chunk);
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    this.finished = true;
    try {
      this.checkStored();
    } catch (err) {
      this.onResult(err as Error);
      cb(err as Error);
      return;
    }
    // The stored bytes are proven: end the stream now so the upload completes at wire
    // speed. The diff_id (decompressing on a worker) is reported through onResult when it
    // is done; the publisher writes no manifest until then, so a mismatch still publishes
    // nothing (at most an unreferenced blob whose content matches its digest).
    cb();
    this.checkDiffId().then(
      () => this.onResult(undefined),
      (err: Error) => this.onResult(err),
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.finished) this.job?.cancel();
    cb(err);
  }

  /** Size and stored digest: known the moment the last byte has passed. */
  private checkStored(): void {
    const layer = this.layer;
    const digest: Digest = `sha256:${this.hash.digest('hex')}`;
    if (this.bytes !== layer.size) {
      this.job?.cancel();
      throw new TarpushError('SIZE_MISMATCH', `${layer.source.location}: expected ${layer.size} bytes, read ${this.bytes}`, {
        entry: layer.source.location,
        expected: String(layer.size),
        actual: String(this.bytes),
      });
    }
    if (digest !== layer.digest) {
      this.job?.cancel();
      throw mismatch('DIGEST_MISMATCH', layer, layer.digest, digest, 'stored digest');
    }
  }

  /** The diff_id: the stored digest itself for plain layers, the worker's answer for gzip ones. */
  private async checkDiffId(): Promise<void> {
    const layer = this.layer;
    const digest = layer.digest;
    if (!diffIdDeclared(layer)) return;
    if (layer.compression === 'none' && digest !== layer.diffId) {
      throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, digest, 'diff_id (config rootfs.diff_ids)');
    }
    if (this.job) {
      let diff: Digest;
      try {
        diff = (await this.job.finish()).digest;
      } catch (err) {
        throw new TarpushError('DIFF_ID_MISMATCH', `${layer.source.location}: cannot decompress the gzip layer to check its diff_id: ${(err as Error).message}`, {
          entry: layer.source.location,
          expected: layer.diffId,
        });
      }
      if (diff !== layer.diffId) throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, diff, 'diff_id (config rootfs.diff_ids)');
    }
  }
}

export interface VerifyOptions {
  /**
   * Check the diff_id of compressed layers (decompress and hash on a worker): default true.
   * Decompressing costs about 3 CPU-seconds per GB on the 2-core build machine (see
   * docs/decisions.md), so `push --no-verify-diff-ids` can trade the check for speed; the
   * stored digest and size are always checked.
   */
  diffIds?: boolean;
}

/**
 * Check a full read (bytes 0..size) of a layer that the caller opened itself: the returned
 * stream passes the bytes through, and errors (as `verified` rejects) on a mismatch.
 */
export function verifyingStream(layer: Layer, full: Readable, opts: VerifyOptions = {}): { stream: Readable; verified: Promise<void> } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const verified = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  verified.catch(() => {}); // callers may not await it; the stream error still reports the failure
  const checker = new LayerChecker(layer, (err) => (err ? reject(err) : resolve()), opts);
  pipeline(full, checker).catch(() => {}); // errors surface on `checker`, which the caller reads
  return { stream: checker, verified };
}

/**
 * Wrap a layer's source so that every full read (0..size) is checked: stored size and
 * digest, and the diff_id (gzip: on a worker; uncompressed: the stored digest; zstd: not
 * checked). `verified` resolves once a full read has passed, and rejects with
 * DIGEST_MISMATCH / SIZE_MISMATCH / DIFF_ID_MISMATCH when one fails. A wrong size or
 * stored digest also errors the stream, so an upload reading it aborts before it commits
 * the blob; the diff_id of a gzip layer is still being computed when the stream ends, so a
 * wrong one only rejects `verified` (callers write no manifest before it settles). Partial reads
 * (resumed uploads) pass through unchecked. `verified` stays pending until a full read
 * completes: callers that skip the upload (blob already present) must not await it.
 */
export function verifyingSource(layer: Layer, opts: VerifyOptions = {}): { source: ByteSource; verified: Promise<void> } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  let passed = false;
  const verified = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  verified.catch(() => {}); // callers may not await it; the stream error still reports the failure
  const inner = layer.source;
  const source: ByteSource = {
    size: inner.size,
    location: inner.location,
    open(start = 0, end = inner.size) {
      const raw = inner.open(start, end);
      if (passed || start !== 0 || end !== inner.size) return raw;
      const v = verifyingStream(layer, raw, opts);
      v.verified.then(
        () => {
          passed = true;
          resolve();
        },
        reject,
      );
      return v.stream;
    },
  };
  return { source, verified };
}

/** Read a layer once, in full, and check its digest, size and diff_id. */
export async function verifyLayer(layer: Layer, opts: VerifyOptions = {}): Promise<void> {
  const { source, verified } = verifyingSource(layer, opts);
  const sink = new Writable({ write: (_c, _e, cb) => cb(), highWaterMark: 1 << 20 });
  await Promise.all([pipeline(source.open(), sink), verified]);
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

function checkJson(raw: Buffer, expected: Digest, where: string, what: string): void {
  const actual = sha256(raw);
  if (actual !== expected) {
    throw new TarpushError('DIGEST_MISMATCH', `${where}: ${what} expected ${expected}, content has ${actual}`, { entry: where, expected, actual });
  }
}

/** Layers whose bytes the archive does not hold (foreign layers listed only by URL). */
export interface AbsentLayerHint {
  readonly absent?: boolean;
}

/**
 * Verify everything an image (or index, recursively) holds: manifest and config digests,
 * then every distinct layer with bounded parallelism. Used by `inspect --verify`.
 */
export async function verifyImage(item: Image | ImageIndex, opts: { concurrency?: number } = {}): Promise<void> {
  const concurrency = opts.concurrency ?? Math.max(2, Math.min(4, availableParallelism()));
  const layers = new Map<string, Layer>();
  const collect = (it: Image | ImageIndex): void => {
    checkJson(it.rawManifest, it.digest, `${it.kind === 'index' ? 'index' : 'manifest'} ${it.digest}`, 'manifest digest');
    if (it.kind === 'index') {
      for (const child of it.manifests) collect(child.item);
      return;
    }
    checkJson(it.rawConfig, it.config.digest, `config of ${it.digest}`, 'config digest');
    if (it.rawConfig.length !== it.config.size) {
      throw new TarpushError('SIZE_MISMATCH', `config ${it.config.digest}: expected ${it.config.size} bytes, holds ${it.rawConfig.length}`, {
        expected: String(it.config.size),
        actual: String(it.rawConfig.length),
      });
    }
    for (const l of it.layers) {
      if ((l as Layer & AbsentLayerHint).absent) continue;
      const key = `${l.digest} ${l.diffId} ${l.source.location}`;
      if (!layers.has(key)) layers.set(key, l);
    }
  };
  collect(item);
  await mapLimit([...layers.values()], concurrency, verifyLayer);
}
