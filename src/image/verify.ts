import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { canDecompress } from '../compress/decompress.js';
import { detectCompression } from '../compress/detect.js';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import { sha256, type Digest } from './digest.js';
import { compressionOfMediaType, type Compression } from './media-types.js';
import { TarStreamCheck } from './verify-tar.js';
import type { FromWorker, ToWorker, WorkerCompression, WorkerFailureReason } from './verify-worker.js';
import type { ArtifactBlob, ByteSource, Layer, Manifestable } from './types.js';

/**
 * Content verification while bytes stream. On the main thread, as the bytes go by: the
 * stored digest and size, the compression magic against the media type, and for
 * uncompressed layers that the bytes are a tar (header checksums, whole blocks, the
 * end-of-archive blocks; verify-tar.ts) whose digest is the diff_id. For compressed layers a
 * worker thread decompresses the same bytes (reading the file range itself, or fed copies of
 * the chunks), hashes the diff_id and checks the tar in that one pass, so an upload reads
 * the archive once and still proves what the config's rootfs.diff_ids claim.
 *
 * zstd layers: Node 20's zlib has no zstd decoder, so there only their magic, stored digest
 * and size are checked, and the result says the diff_id was not (`diffIdChecked: false`).
 * Where node:zlib decodes zstd (Node ≥ 22.15) they are checked like gzip layers.
 *
 * State: a LayerVerifier owns its worker pool; the module-level functions use one shared
 * verifier, stopped by shutdownVerifyPool().
 */

/**
 * Optional facts a Layer implementation may carry for verification. Readers set
 * `diffIdDeclared: false` for artifact layers, whose manifest has no rootfs to check (and
 * whose bytes need not be a tar).
 */
export interface LayerVerifyHints {
  readonly diffIdDeclared?: boolean;
}

const diffIdDeclared = (layer: Layer): boolean => (layer as Layer & LayerVerifyHints).diffIdDeclared !== false;

export interface VerifyOptions {
  /**
   * Check the diff_id of compressed layers (decompress, hash and walk the tar on a worker):
   * default true. Decompressing costs about 3 CPU-seconds per GB on the 2-core build machine
   * (see docs/decisions.md), so `push --no-verify-diff-ids` can trade the check for speed.
   * The stored digest and size, the compression magic, and the checks of uncompressed
   * layers (diff_id, tar) cost nothing extra and are always made.
   */
  diffIds?: boolean;
}

/** What one full read of a layer proved (the value `verified` resolves with). */
export interface LayerVerified {
  /** The stored bytes' digest and size (equal to the layer's: they were checked). */
  digest: Digest;
  size: number;
  /** Compression of the stored bytes (their magic, which matched the media type). */
  compression: Compression;
  /**
   * Whether the config's diff_id was proven for these bytes (and the uncompressed stream
   * proven a tar). False when not checked: `diffIds: false` on a compressed layer, zstd on a
   * Node without a zstd decoder, artifact layers (no diff_id declared). Only a true value
   * lets a caller record the (digest → diff_id) pair as verified.
   */
  diffIdChecked: boolean;
}

// ---------------------------------------------------------------------------------------
// Worker pool for diff_id computation.

/** Chunks handed to a worker but not yet consumed; above this the reader waits (memory stays flat). */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

/** A job the worker ended with a finding about the bytes (not a crash of the worker). */
class WorkerFailure extends Error {
  constructor(
    readonly reason: WorkerFailureReason,
    message: string,
  ) {
    super(message);
  }
}

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
  start(compression: WorkerCompression, file?: { path: string; start: number; end: number }): DiffIdJob {
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
    result.catch(() => {}); // observed through finish() / onFailure(); never an unhandled rejection
    const job: JobState = { owner, inFlight: 0, ended: false, busy: false, drained: undefined, resolve, reject };
    this.jobs.set(id, job);
    if (file) {
      // The worker reads the range itself: it owes a result from now on.
      job.ended = true;
      this.setBusy(job, true);
      this.send(owner, { op: 'file', id, compression, ...file });
    } else {
      this.send(owner, { op: 'start', id, compression });
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
    job.reject(new Error('cancelled'));
  }

  /** Terminate all workers (jobs in progress fail). */
  async shutdown(): Promise<void> {
    const all = this.workers.splice(0);
    for (const [id, job] of this.jobs) {
      this.settle(id, job);
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

  /** The job is over (result, failure, cancel): forget it and release a reader waiting for room. */
  private settle(id: number, job: JobState): void {
    if (this.jobs.get(id) !== job) return;
    this.jobs.delete(id);
    this.setBusy(job, false);
    job.owner.active--;
    const d = job.drained;
    job.drained = undefined;
    d?.();
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
        this.settle(id, job);
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
    else job.reject(new WorkerFailure(m.reason, m.message));
  }
}

class DiffIdJob {
  constructor(
    private readonly pool: DiffIdPool,
    private readonly id: number,
    readonly result: Promise<{ digest: Digest; size: number }>,
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

// ---------------------------------------------------------------------------------------
// Verifying streams.

const where = (layer: Layer): string => `layer ${layer.digest} (${printable(layer.source.location)})`;

function mismatch(code: 'DIGEST_MISMATCH' | 'DIFF_ID_MISMATCH', layer: Layer, expected: string, actual: string, what: string): TarpushError {
  return new TarpushError(code, `${printable(layer.source.location)}: ${what} expected ${expected}, content has ${actual}`, {
    entry: layer.source.location,
    expected,
    actual,
  });
}

/** LAYER_INVALID: the bytes are not what the layer claims to be (compression, tar). */
function invalid(layer: Layer, what: string): TarpushError {
  return new TarpushError('LAYER_INVALID', `${where(layer)}: ${what}`, { entry: layer.source.location, digest: layer.digest, mediaType: layer.mediaType });
}

const compressionText = (c: Compression): string => (c === 'none' ? 'uncompressed' : c);

/** The compression the layer claims: its media type's, or (unknown media type) the detected one. */
const claimedCompression = (layer: Layer): Compression => compressionOfMediaType(layer.mediaType) ?? layer.compression;

/** A worker's finding (or failure) as the error a user acts on. */
function workerError(layer: Layer, compression: Compression, err: Error): Error {
  if (!(err instanceof WorkerFailure)) return err; // pool shut down, worker crashed: not about the bytes
  if (err.reason === 'tar') return invalid(layer, err.message);
  if (err.reason === 'decompress') return invalid(layer, `cannot decompress the ${compression} bytes: ${printable(err.message)}`);
  return new TarpushError('ARCHIVE_UNREADABLE', `${where(layer)}: cannot read the bytes to check the diff_id: ${printable(err.message)}`, {
    entry: layer.source.location,
  });
}

/**
 * A pass-through that checks a full read of a layer's stored bytes. A wrong magic or
 * (uncompressed) tar errors the stream as soon as it is seen, a wrong size or digest at the
 * end, so an upload reading it aborts before it commits. The worker's findings (diff_id,
 * decompression, tar of a compressed layer) are reported after the stored digest has been
 * checked — a corrupted byte is a DIGEST_MISMATCH, not a decompression failure — and
 * after the stream ended. Every outcome goes to `onResult`, once.
 */
class LayerChecker extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly job: DiffIdJob | undefined;
  /** The first bytes, until the magic has been compared with the media type. */
  private head: Buffer | undefined = Buffer.alloc(0);
  /** Set for uncompressed layers with a declared diff_id: the bytes themselves must be a tar. */
  private readonly tar: TarStreamCheck | undefined;
  private readonly claimed: Compression;
  private readonly checksDiffId: boolean;
  private finished = false;
  private reported = false;

  constructor(
    private readonly layer: Layer,
    private readonly onResult: (err: Error | undefined, ok?: LayerVerified) => void,
    opts: VerifyOptions,
    pool: () => DiffIdPool,
  ) {
    super();
    const declared = diffIdDeclared(layer);
    this.claimed = claimedCompression(layer);
    if (!declared) this.head = undefined; // artifacts: no claim about compression or tar to check
    const c = this.claimed;
    if (declared && c === 'none') this.tar = new TarStreamCheck();
    const decode = declared && c !== 'none' && opts.diffIds !== false && canDecompress(c);
    this.checksDiffId = declared && (c === 'none' || decode);
    if (decode) {
      const file = layer.source.file;
      // A file-backed layer is read by the worker itself, so decompression never holds back
      // the upload and no copies cross threads; other sources are fed chunk by chunk.
      this.job = pool().start(c as WorkerCompression, file && { path: file.path, start: file.offset, end: file.offset + layer.size });
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const bad = this.checkHead(chunk) ?? this.checkTar(chunk);
    if (bad) {
      cb(this.report(bad));
      return;
    }
    const wait = this.job?.push(chunk);
    this.push(chunk);
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    this.finished = true;
    let stored: LayerVerified;
    try {
      stored = this.checkStored();
    } catch (err) {
      cb(this.report(err as Error));
      return;
    }
    // The stored bytes are proven: end the stream now so the upload completes at wire
    // speed. The diff_id (decompressing on a worker) is reported through onResult when it
    // is done; the publisher writes no manifest until then, so a mismatch still publishes
    // nothing (at most an unreferenced blob whose content matches its digest).
    cb();
    this.checkDiffId().then(
      () => this.onResult(undefined, { ...stored, diffIdChecked: this.checksDiffId }),
      (err: Error) => this.onResult(err),
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.finished) this.job?.cancel();
    cb(err);
  }

  /** Report a failure (once) and stop the worker; returns the error for the stream. */
  private report(err: Error): Error {
    this.job?.cancel();
    if (!this.reported) {
      this.reported = true;
      this.onResult(err);
    }
    return err;
  }

  /** Compare the magic with the claimed compression once enough bytes (or all of them) are in. */
  private checkHead(chunk: Buffer | undefined): Error | undefined {
    if (!this.head) return undefined;
    if (chunk) this.head = Buffer.concat([this.head, chunk.subarray(0, 4)]).subarray(0, 4);
    if (chunk && this.head.length < 4) return undefined;
    const actual = detectCompression(this.head);
    this.head = undefined;
    if (actual === this.claimed) return undefined;
    const claim = compressionOfMediaType(this.layer.mediaType) ? `its media type ${printable(this.layer.mediaType)} says ${compressionText(this.claimed)}` : `it was read as ${compressionText(this.claimed)}`;
    return invalid(this.layer, `bytes are ${compressionText(actual)} but ${claim}`);
  }

  private checkTar(chunk: Buffer): Error | undefined {
    const bad = this.tar?.feed(chunk);
    return bad ? invalid(this.layer, bad) : undefined;
  }

  /** Size, stored digest, magic of a short layer, end of an uncompressed tar: known the moment the last byte has passed. */
  private checkStored(): LayerVerified {
    const layer = this.layer;
    const digest: Digest = `sha256:${this.hash.digest('hex')}`;
    if (this.bytes !== layer.size) {
      throw new TarpushError('SIZE_MISMATCH', `${printable(layer.source.location)}: expected ${layer.size} bytes, read ${this.bytes}`, {
        entry: layer.source.location,
        expected: String(layer.size),
        actual: String(this.bytes),
      });
    }
    if (digest !== layer.digest) throw mismatch('DIGEST_MISMATCH', layer, layer.digest, digest, 'stored digest');
    const bad = this.checkHead(undefined);
    if (bad) throw bad;
    const tarEnd = this.tar?.end();
    if (tarEnd) throw invalid(layer, tarEnd);
    return { digest, size: this.bytes, compression: this.claimed, diffIdChecked: false };
  }

  /** The diff_id: the stored digest itself for uncompressed layers, the worker's answer for compressed ones. */
  private async checkDiffId(): Promise<void> {
    const layer = this.layer;
    if (!diffIdDeclared(layer)) return;
    if (this.claimed === 'none' && layer.digest !== layer.diffId) {
      throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, layer.digest, 'diff_id (config rootfs.diff_ids)');
    }
    if (!this.job) return;
    let diff: Digest;
    try {
      diff = (await this.job.finish()).digest;
    } catch (err) {
      throw workerError(layer, this.claimed, err as Error);
    }
    if (diff !== layer.diffId) throw mismatch('DIFF_ID_MISMATCH', layer, layer.diffId, diff, 'diff_id (config rootfs.diff_ids)');
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // callers may not await it; the stream error still reports the failure
  return { promise, resolve, reject };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

function checkJson(raw: Buffer, expected: Digest, whereText: string, what: string): void {
  const actual = sha256(raw);
  if (actual !== expected) {
    throw new TarpushError('DIGEST_MISMATCH', `${whereText}: ${what} expected ${expected}, content has ${actual}`, { entry: whereText, expected, actual });
  }
}

/**
 * An artifact's blob as a layer to check: its stored digest and size only (no diff_id, no
 * compression claim, not a tar), which is all an artifact's manifest states.
 */
export function artifactBlobLayer(b: ArtifactBlob): Layer {
  return { digest: b.digest, size: b.size, mediaType: b.mediaType, compression: 'none', diffId: b.digest, diffIdDeclared: false, source: b.source };
}

/** Layers whose bytes the archive does not hold (foreign layers listed only by URL). */
export interface AbsentLayerHint {
  readonly absent?: boolean;
}

/**
 * Verifies layers. Owns the worker pool that decompresses layers; `close()` stops it (idle
 * workers never keep the process alive, so closing is only needed to free them at once).
 * Every check is the same whichever method runs it; failures are TarpushErrors:
 *   SIZE_MISMATCH, DIGEST_MISMATCH — the stored bytes are not the layer's size / digest;
 *   LAYER_INVALID — magic ≠ media type's compression, bytes that do not decompress, or an
 *     uncompressed stream that is not a tar;
 *   DIFF_ID_MISMATCH — the uncompressed digest is not the config's diff_id;
 *   ARCHIVE_UNREADABLE — the worker could not read the file range.
 */
export class LayerVerifier {
  private pool: DiffIdPool | undefined;
  private readonly getPool = (): DiffIdPool => (this.pool ??= new DiffIdPool());

  /**
   * Check a full read (bytes 0..size) of a layer that the caller opened itself: the returned
   * stream passes the bytes through, and errors on a wrong size, digest, magic or
   * (uncompressed) tar. `verified` resolves with what was proven once every check is done
   * (for compressed layers after the stream ended: the worker may still be decompressing),
   * and rejects with the first failure.
   */
  verifyingStream(layer: Layer, full: Readable, opts: VerifyOptions = {}): { stream: Readable; verified: Promise<LayerVerified> } {
    const d = deferred<LayerVerified>();
    const checker = new LayerChecker(layer, (err, ok) => (err ? d.reject(err) : d.resolve(ok!)), opts, this.getPool);
    pipeline(full, checker).catch(() => {}); // errors surface on `checker`, which the caller reads
    return { stream: checker, verified: d.promise };
  }

  /**
   * Wrap a layer's source so that every full read (0..size) is checked as verifyingStream
   * checks it, until one has passed. `verified` resolves once a full read has passed, and
   * rejects when one fails. A wrong size, digest, magic or uncompressed tar errors the
   * stream, so an upload reading it aborts before it commits the blob; a compressed layer's
   * diff_id and tar are still being checked when the stream ends, so a finding after that
   * only rejects `verified` (callers write no manifest before it settles). Partial reads
   * (resumed uploads) pass through unchecked, and `verified` stays pending until a full
   * read completes: callers that skip the upload must not await it (use verifyLayer).
   */
  verifyingSource(layer: Layer, opts: VerifyOptions = {}): { source: ByteSource; verified: Promise<LayerVerified> } {
    const d = deferred<LayerVerified>();
    let passed = false;
    const inner = layer.source;
    const source: ByteSource = {
      size: inner.size,
      location: inner.location,
      open: (start = 0, end = inner.size) => {
        const raw = inner.open(start, end);
        if (passed || start !== 0 || end !== inner.size) return raw;
        const v = this.verifyingStream(layer, raw, opts);
        v.verified.then((ok) => {
          passed = true;
          d.resolve(ok);
        }, d.reject);
        return v.stream;
      },
    };
    return { source, verified: d.promise };
  }

  /** Read a layer once, in full, from its source, and check it (nothing is uploaded). */
  async verifyLayer(layer: Layer, opts: VerifyOptions = {}): Promise<LayerVerified> {
    const { stream, verified } = this.verifyingStream(layer, layer.source.open(), opts);
    const sink = new Writable({ write: (_c, _e, cb) => cb(), highWaterMark: 1 << 20 });
    const [, ok] = await Promise.all([pipeline(stream, sink), verified]);
    return ok;
  }

  /**
   * Verify everything an image (or index, recursively) holds: manifest and config digests,
   * then every distinct layer with bounded parallelism. Each manifest is visited once, however
   * many indexes name it. Used by `inspect --verify`.
   */
  async verifyImage(item: Manifestable, opts: { concurrency?: number } = {}): Promise<void> {
    const concurrency = opts.concurrency ?? Math.max(2, Math.min(4, availableParallelism()));
    const layers = new Map<string, Layer>();
    const seen = new Set<string>();
    const collect = (it: Manifestable): void => {
      if (seen.has(`${it.kind} ${it.digest}`)) return;
      seen.add(`${it.kind} ${it.digest}`);
      checkJson(it.rawManifest, it.digest, `${it.kind === 'index' ? 'index' : 'manifest'} ${it.digest}`, 'manifest digest');
      if (it.kind === 'index') {
        // Entries the archive does not carry have nothing to verify (inspect lists them as such).
        for (const child of it.manifests) if (child.item) collect(child.item);
        return;
      }
      checkJson(it.rawConfig, it.config.digest, `config of ${it.digest}`, 'config digest');
      if (it.rawConfig.length !== it.config.size) {
        throw new TarpushError('SIZE_MISMATCH', `config ${it.config.digest}: expected ${it.config.size} bytes, holds ${it.rawConfig.length}`, {
          expected: String(it.config.size),
          actual: String(it.rawConfig.length),
        });
      }
      for (const l of it.kind === 'artifact' ? it.blobs.map(artifactBlobLayer) : it.layers) {
        if ((l as Layer & AbsentLayerHint).absent) continue;
        const key = `${l.digest} ${l.diffId} ${l.mediaType} ${l.source.location}`;
        if (!layers.has(key)) layers.set(key, l);
      }
    };
    collect(item);
    await mapLimit([...layers.values()], concurrency, (l) => this.verifyLayer(l));
  }

  /** Stop the workers (jobs in progress fail). The verifier can be used again afterwards. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.shutdown();
  }
}

// ---------------------------------------------------------------------------------------
// One shared verifier for callers that do not hold their own.

let shared: LayerVerifier | undefined;
const sharedVerifier = (): LayerVerifier => (shared ??= new LayerVerifier());

/** Stop the shared verifier's workers (idle workers never keep the process alive; this frees them at once). */
export async function shutdownVerifyPool(): Promise<void> {
  const v = shared;
  shared = undefined;
  await v?.close();
}

/** A `verified` promise without its value, for the void-typed functions below (never an unhandled rejection). */
function done(p: Promise<LayerVerified>): Promise<void> {
  const q = p.then(() => {});
  q.catch(() => {});
  return q;
}

// The functions below keep the signatures callers had before LayerVerifier (their promises
// carry no value); LayerVerifier's methods return what was proven.

/** LayerVerifier.verifyingStream on the shared verifier. */
export function verifyingStream(layer: Layer, full: Readable, opts: VerifyOptions = {}): { stream: Readable; verified: Promise<void> } {
  const v = sharedVerifier().verifyingStream(layer, full, opts);
  return { stream: v.stream, verified: done(v.verified) };
}

/** LayerVerifier.verifyingSource on the shared verifier. */
export function verifyingSource(layer: Layer, opts: VerifyOptions = {}): { source: ByteSource; verified: Promise<void> } {
  const v = sharedVerifier().verifyingSource(layer, opts);
  return { source: v.source, verified: done(v.verified) };
}

/** LayerVerifier.verifyLayer on the shared verifier. */
export function verifyLayer(layer: Layer, opts: VerifyOptions = {}): Promise<void> {
  return sharedVerifier().verifyLayer(layer, opts).then(() => {});
}

/** LayerVerifier.verifyImage on the shared verifier. */
export function verifyImage(item: Manifestable, opts: { concurrency?: number } = {}): Promise<void> {
  return sharedVerifier().verifyImage(item, opts);
}
