/**
 * Worker thread for diff_id checks: gunzips a layer's bytes as the main thread streams
 * copies of them here, and hashes the uncompressed tar. Decompression is the expensive
 * half of verification, so it runs beside the upload instead of on the event loop that
 * feeds sockets. Protocol (all messages carry the job `id`):
 *   in:  start | data {chunk} | end | cancel
 *   out: ack {bytes} (a chunk was consumed, for back-pressure) | done {digest} | error {message}
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { createReadStream, type ReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';

export type ToWorker =
  | { op: 'start'; id: number }
  | { op: 'file'; id: number; path: string; start: number; end: number }
  | { op: 'data'; id: number; chunk: Uint8Array }
  | { op: 'end'; id: number }
  | { op: 'cancel'; id: number };

export type FromWorker =
  | { op: 'ack'; id: number; bytes: number }
  | { op: 'done'; id: number; digest: string; size: number }
  | { op: 'error'; id: number; message: string };

interface Job {
  /** Set for file jobs: the worker reads the layer's bytes itself. */
  file?: ReadStream;
  gunzip: Gunzip;
  hash: Hash;
  size: number;
}

const port = parentPort;

const jobs = new Map<number, Job>();

function post(m: FromWorker): void {
  port?.postMessage(m);
}

function start(id: number): void {
  const job: Job = { gunzip: createGunzip({ chunkSize: 256 * 1024 }), hash: createHash('sha256'), size: 0 };
  jobs.set(id, job);
  job.gunzip.on('data', (d: Buffer) => {
    job.hash.update(d);
    job.size += d.length;
  });
  job.gunzip.on('end', () => {
    if (jobs.get(id) !== job) return;
    jobs.delete(id);
    post({ op: 'done', id, digest: `sha256:${job.hash.digest('hex')}`, size: job.size });
  });
  job.gunzip.on('error', (err) => {
    if (jobs.get(id) !== job) return;
    jobs.delete(id);
    post({ op: 'error', id, message: err.message });
  });
}

/** A layer that is a file range: read it here, beside the upload, with no copies. */
function startFile(id: number, path: string, startAt: number, end: number): void {
  start(id);
  const job = jobs.get(id)!;
  if (end <= startAt) {
    job.gunzip.end();
    return;
  }
  job.file = createReadStream(path, { start: startAt, end: end - 1, highWaterMark: 1 << 20 });
  job.file.on('error', (err) => job.gunzip.destroy(err));
  job.file.pipe(job.gunzip);
}

port?.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'start':
      start(m.id);
      break;
    case 'file':
      startFile(m.id, m.path, m.start, m.end);
      break;
    case 'data': {
      const job = jobs.get(m.id);
      const bytes = m.chunk.byteLength;
      if (!job) {
        post({ op: 'ack', id: m.id, bytes });
        break;
      }
      job.gunzip.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, bytes), () => post({ op: 'ack', id: m.id, bytes }));
      break;
    }
    case 'end':
      jobs.get(m.id)?.gunzip.end();
      break;
    case 'cancel': {
      const job = jobs.get(m.id);
      jobs.delete(m.id);
      job?.file?.destroy();
      job?.gunzip.destroy();
      break;
    }
  }
});
