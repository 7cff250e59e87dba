import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digest } from './digest.js';
import type { FromWorker, ToWorker, WorkerCompression, WorkerFailureReason } from './verify-worker.js';

/**
 * The worker pool that decompresses layers to check their diff_id (verify-worker.ts runs
 * in each worker). One pool belongs to one LayerVerifier (verify.ts): nothing here is
 * shared between verifiers. Jobs are fed copies of the chunks, or read a file range
 * themselves; back-pressure keeps at most MAX_IN_FLIGHT bytes queued per job.
 */

/** Chunks handed to a worker but not yet consumed; above this the reader waits (memory stays flat). */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

/** A job the worker ended with a finding about the bytes (not a crash of the worker). */
export class WorkerFailure extends Error {
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

export class DiffIdPool {
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

export class DiffIdJob {
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
