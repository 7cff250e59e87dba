/**
 * Worker thread for diff_id checks: decompresses a layer's bytes (gzip; zstd where node:zlib
 * can) as the main thread streams copies of them here — or reads the file range itself —
 * hashes the uncompressed stream and checks, in the same pass, that it is a tar
 * (verify-tar.ts). Decompression is the expensive half of verification, so it runs beside
 * the upload instead of on the event loop that feeds sockets. Protocol (all messages carry
 * the job `id`):
 *   in:  start {compression} | file {compression, path, start, end} | data {chunk} | end | cancel
 *   out: ack {bytes} (a chunk was consumed, for back-pressure) | done {digest, size}
 *        | error {reason, message}: `decompress` (the bytes are not valid gzip/zstd),
 *          `tar` (the plain bytes are not a tar), `read` (the file could not be read)
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { createDecompressor } from '../compress/decompress.js';
import { noteBufferChurn } from '../util/dead-buffers.js';
import { TarStreamCheck } from './verify-tar.js';

export type WorkerCompression = 'gzip' | 'zstd';
export type WorkerFailureReason = 'decompress' | 'tar' | 'read';

export type ToWorker =
  | { op: 'start'; id: number; compression: WorkerCompression }
  | { op: 'file'; id: number; compression: WorkerCompression; path: string; start: number; end: number }
  | { op: 'data'; id: number; chunk: Uint8Array }
  | { op: 'end'; id: number }
  | { op: 'cancel'; id: number };

export type FromWorker =
  | { op: 'ack'; id: number; bytes: number }
  | { op: 'done'; id: number; digest: string; size: number }
  | { op: 'error'; id: number; reason: WorkerFailureReason; message: string };

/**
 * Bytes per read of a layer file. A file job reads into two buffers of this size, reused for
 * the whole layer, so reading makes no garbage (docs/decisions.md "Memory").
 */
const READ_SIZE = 256 * 1024;

/** Output chunk of the decompressor: each is hashed and tar-checked at once, then dead. */
const INFLATE_CHUNK = 256 * 1024;

interface Job {
  decompress: Transform;
  hash: Hash;
  tar: TarStreamCheck;
  size: number;
}

const port = parentPort;

const jobs = new Map<number, Job>();

function post(m: FromWorker): void {
  port?.postMessage(m);
}

/** Report a job's failure once and stop its work. */
function fail(id: number, job: Job, reason: WorkerFailureReason, message: string): void {
  if (jobs.get(id) !== job) return;
  jobs.delete(id);
  post({ op: 'error', id, reason, message });
  job.decompress.destroy();
}

function start(id: number, compression: WorkerCompression): Job | undefined {
  const decompress = createDecompressor(compression, { chunkSize: INFLATE_CHUNK });
  if (!decompress) {
    // The main thread only asks for what canDecompress() allows; say so if that ever drifts.
    post({ op: 'error', id, reason: 'decompress', message: `this Node cannot decompress ${compression}` });
    return undefined;
  }
  const job: Job = { decompress, hash: createHash('sha256'), tar: new TarStreamCheck(), size: 0 };
  jobs.set(id, job);
  decompress.on('data', (d: Buffer) => {
    job.hash.update(d);
    job.size += d.length;
    noteBufferChurn(d.length);
    const bad = job.tar.feed(d);
    if (bad) fail(id, job, 'tar', bad);
  });
  decompress.on('end', () => {
    const bad = job.tar.end();
    if (bad) {
      fail(id, job, 'tar', bad);
      return;
    }
    if (jobs.get(id) !== job) return;
    jobs.delete(id);
    post({ op: 'done', id, digest: `sha256:${job.hash.digest('hex')}`, size: job.size });
  });
  decompress.on('error', (err) => fail(id, job, 'decompress', err.message));
  return job;
}

/** A layer that is a file range: read it here, beside the upload, with no copies. */
function startFile(id: number, compression: WorkerCompression, path: string, startAt: number, end: number): void {
  const job = start(id, compression);
  if (!job) return;
  readInto(id, job, path, startAt, end).catch((err: Error) => fail(id, job, 'read', err.message));
}

/**
 * Feed bytes [startAt, end) of the file to the job's decompressor, reading into two buffers
 * in turn: one is decompressed while the other is filled. A buffer is refilled only after the
 * decompressor's write callback for it ran (zlib has consumed it by then).
 */
async function readInto(id: number, job: Job, path: string, startAt: number, end: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const size = Math.max(1, Math.min(READ_SIZE, end - startAt));
    const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    let written: Promise<boolean> | undefined;
    let pos = startAt;
    for (let i = 0; pos < end; i ^= 1) {
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) throw new Error(`${path}: the file ends at ${pos}, before ${end}`);
      pos += bytesRead;
      if (written && !(await written)) return; // the job failed or was cancelled: stop reading
      if (jobs.get(id) !== job) return;
      written = new Promise((resolve) => job.decompress.write(buf.subarray(0, bytesRead), (err) => resolve(!err)));
    }
    if (written && !(await written)) return;
    if (jobs.get(id) === job) job.decompress.end();
  } finally {
    await fh.close();
  }
}

port?.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'start':
      start(m.id, m.compression);
      break;
    case 'file':
      startFile(m.id, m.compression, m.path, m.start, m.end);
      break;
    case 'data': {
      const job = jobs.get(m.id);
      const bytes = m.chunk.byteLength;
      if (!job) {
        post({ op: 'ack', id: m.id, bytes });
        break;
      }
      job.decompress.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, bytes), () => post({ op: 'ack', id: m.id, bytes }));
      break;
    }
    case 'end':
      jobs.get(m.id)?.decompress.end();
      break;
    case 'cancel': {
      const job = jobs.get(m.id);
      jobs.delete(m.id);
      job?.decompress.destroy();
      break;
    }
  }
});
