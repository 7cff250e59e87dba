import type { Readable } from 'node:stream';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ProgressFn } from '../image/sink.js';
import { fileRangeSource } from '../image/sources.js';
import { discard } from './body.js';
import { isTransientNetworkError } from './errors.js';
import type { Repository } from './repository.js';
import { Opening, Spool } from './spool.js';
import { chunkSizeFor, shrinkAfterRefusal } from './chunk-size.js';
import { putBlob } from './upload.js';
import { classify, uploadFailure } from './upload-answer.js';
import { confirmStored } from './upload-confirm.js';
import { Progress } from './upload-progress.js';
import { hasBlob } from './blob.js';
import { UploadSession } from './upload-session.js';
import { failureOf, RetryBudget } from './retry.js';

/**
 * Upload bytes whose digest is not known in advance (a layer compressed on the fly): POST,
 * one streamed PATCH while sha256 and size are computed as the bytes pass, then
 * `PUT ?digest=` with no body. With `chunkSize` (or a body-size limit learned earlier) the
 * stream is cut into chunks held in memory one at a time, each PATCHed with Content-Range.
 *
 * A registry that refuses PATCH (GCR: 405/404/400 UNSUPPORTED) gets the bytes spooled to a
 * temp file and uploaded with putBlob. So that the producer runs only once, the first streamed
 * upload of a client (PATCH support not yet known) copies its bytes to a spool file as they
 * pass; on refusal the rest of the same stream is read into it. On a failure mid-stream the
 * producer is opened again (it is deterministic) and, when the session reports a Range, the
 * bytes the registry holds are skipped instead of re-sent.
 */


export async function putStream(repo: Repository, open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
  const client = repo.client;
  if (client.features.patch === false) return spoolAndPut(repo, { open }, onProgress, 'registry refuses PATCH');
  if (client.options.chunkSize !== undefined || client.features.maxBody !== undefined) return chunkedStream(repo, open, onProgress);
  return streamedPatch(repo, open, onProgress);
}

/**
 * Read a stream to its end into a spool file, then putBlob that file. `from.opening` (with a
 * tee) continues a stream whose first bytes are already in its spool; `from.open` runs the
 * producer anew.
 */
async function spoolAndPut(
  repo: Repository,
  from: { opening: Opening & { tee: Spool } } | { open: () => Readable },
  onProgress: ProgressFn | undefined,
  reason: string,
): Promise<{ digest: Digest; size: number }> {
  repo.client.options.log({ type: 'fallback', what: 'spool', reason });
  const spool = 'opening' in from ? from.opening.tee : await Spool.create(repo.client.options.tmpDir);
  let opening: Opening | undefined;
  try {
    opening = 'opening' in from ? from.opening : new Opening(from.open, spool);
    await opening.drain();
    await spool.finish();
    const digest = opening.digest();
    const size = opening.bytes;
    await putBlob(repo, digest, fileRangeSource(spool.path, 0, size, `${spool.path} (spooled stream)`), onProgress);
    return { digest, size };
  } finally {
    opening?.destroy();
    await spool.remove();
  }
}

async function openSession(repo: Repository, budget: RetryBudget): Promise<UploadSession> {
  const resp = await repo.client.request({
    method: 'POST',
    path: repo.apiPath('blobs/uploads/'),
    scopes: [`repository:${repo.repository}:pull,push`],
    headers: { 'content-length': '0' },
    retry: 'idempotent',
    budget,
    what: `blob upload to ${repo.name}`,
  });
  if (resp.status !== 202) {
    const c = await classify(resp);
    throw uploadFailure(repo, resp, `blob upload to ${repo.name}`, 'POST', c.body);
  }
  const session = UploadSession.fromAnswer(repo, resp, budget);
  await discard(resp);
  return session;
}

/** Close a session whose bytes are all sent; returns false when it must be started over. */
async function close(repo: Repository, session: UploadSession, digest: Digest): Promise<'done' | 'restart'> {
  const resp = await session.put(digest);
  const c = await classify(resp);
  if (c.outcome === 'ok') {
    await confirmStored(repo, resp, digest);
    return 'done';
  }
  if (c.outcome === 'gone' && (await hasBlob(repo, digest))) return 'done'; // an earlier answer was lost
  if (c.outcome === 'gone' || c.outcome === 'digest-invalid') return 'restart';
  throw uploadFailure(repo, resp, `blob upload ${repo.name}@${digest}`, 'PUT', c.body);
}

/** The retry budget of one streamed upload, and its failure counter (throws `err` when spent). */
function makeFailureCounter(repo: Repository): { budget: RetryBudget; failed: (err: Error, reason?: string) => Promise<void> } {
  const budget = new RetryBudget(repo.client.options);
  return {
    budget,
    failed: async (err, reason) => {
      const f = failureOf(err, { method: 'upload', url: `${repo.name} (stream)` });
      if (!(await budget.retry(f.target, reason ?? f.reason))) throw err;
    },
  };
}

async function streamedPatch(repo: Repository, open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
  const client = repo.client;
  const opts = client.options;
  const progress = new Progress(onProgress);
  const { budget, failed } = makeFailureCounter(repo);
  for (;;) {
    const session = await openSession(repo, budget);
    let skip = 0;
    for (;;) {
      // The first streamed upload of this client keeps a copy, in case PATCH is refused.
      const tee = client.features.patch === undefined && skip === 0 ? await Spool.create(opts.tmpDir) : undefined;
      let opening: Opening | undefined;
      let keepOpening = false;
      const produce = () => {
        // Called again when a 401 makes the client re-send: a fresh opening, without the tee
        // (which holds the first opening's bytes), so a refusal then runs the producer anew.
        const first = opening === undefined;
        opening?.destroy();
        opening = new Opening(open, first ? tee : undefined);
        progress.startAt(skip);
        return opening.body(skip, progress.add);
      };
      try {
        let resp;
        try {
          resp = await session.patch(produce, undefined);
        } catch (err) {
          if (!isTransientNetworkError(err)) throw err;
          await failed(err as Error);
          const stored = await session.stored();
          if (stored === undefined) break; // session lost: new session
          skip = stored;
          opts.log({ type: 'resume', digest: '(stream)', offset: stored, reason: 'connection failed mid-stream' });
          continue;
        }
        const c = await classify(resp);
        const o = opening!;
        if (c.outcome === 'ok') {
          if (!o.ended) throw new TarpushError('REGISTRY_ERROR', `blob upload to ${repo.name}: the registry answered before the stream ended`);
          client.features.patch = true;
          const digest = o.digest();
          const closed = await close(repo, session, digest);
          if (closed === 'done') {
            opts.log({ type: 'upload', digest, path: 'stream', bytes: o.bytes });
            return { digest, size: o.bytes };
          }
          await failed(new TarpushError('REGISTRY_ERROR', `blob upload ${repo.name}@${digest}: the session was lost at the closing PUT`), 'session lost');
          break;
        }
        const uploadCode = c.code === 'BLOB_UPLOAD_UNKNOWN' || c.code === 'BLOB_UPLOAD_INVALID';
        const unsupported =
          c.code === 'UNSUPPORTED' || resp.status === 405 || resp.status === 501 || (skip === 0 && !uploadCode && (resp.status === 404 || resp.status === 400));
        if (unsupported || c.outcome === 'too-large') {
          if (unsupported) client.features.patch = false;
          await session.cancel();
          const reason = unsupported ? `registry refused PATCH (${resp.status})` : `registry refused the streamed body size (${resp.status})`;
          // With a tee the bytes read so far are in the spool and the rest comes from the same
          // opening; without one the producer runs again, into a new spool.
          if (o.tee) {
            keepOpening = true;
            return await spoolAndPut(repo, { opening: o as Opening & { tee: Spool } }, onProgress, reason);
          }
          return await spoolAndPut(repo, { open }, onProgress, reason);
        }
        const error = uploadFailure(repo, resp, `blob upload to ${repo.name}`, 'PATCH', c.body);
        if (c.outcome === 'fatal' || c.outcome === 'digest-invalid') throw error;
        await failed(error);
        if (c.outcome === 'gone') break;
        const stored = await session.stored();
        if (stored === undefined) break;
        skip = stored;
      } finally {
        if (!keepOpening) {
          opening?.destroy();
          await tee?.remove();
        }
      }
    }
  }
}

async function chunkedStream(repo: Repository, open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
  const client = repo.client;
  const opts = client.options;
  const progress = new Progress(onProgress);
  const { budget, failed } = makeFailureCounter(repo);
  const chunkSize = (session: UploadSession) => chunkSizeFor(repo, session);
  let highWater = 0; // see putBlob: only new ground starts a new run of retries
  restart: for (;;) {
    const session = await openSession(repo, budget);
    const opening = new Opening(open);
    const pending: Buffer[] = [];
    let at = 0; // bytes the registry holds
    try {
      for (;;) {
        const piece = await opening.read(chunkSize(session), pending);
        if (piece.length === 0) break;
        const pieceStart = at;
        let pos = 0;
        while (pos < piece.length) {
          const len = Math.min(piece.length - pos, chunkSize(session));
          const slice = piece.subarray(pos, pos + len);
          const start = pieceStart + pos;
          let resp;
          try {
            resp = await session.patch(() => slice, { start, end: start + len });
          } catch (err) {
            if (!isTransientNetworkError(err)) throw err;
            await failed(err as Error);
            const stored = await session.stored();
            if (stored === undefined || stored < pieceStart || stored > pieceStart + piece.length) continue restart;
            pos = stored - pieceStart;
            continue;
          }
          const c = await classify(resp);
          if (c.outcome === 'ok') {
            await discard(resp);
            pos += len;
            progress.startAt(start + len);
            if (start + len > highWater) {
              highWater = start + len;
              budget.progressed();
            }
            continue;
          }
          if (c.outcome === 'too-large') shrinkAfterRefusal(repo, session, len, '(stream)');
          else if (c.outcome === 'gone') {
            await failed(uploadFailure(repo, resp, `blob upload to ${repo.name}`, 'PATCH', c.body), 'session lost');
            continue restart;
          } else if (c.outcome === 'transient') {
            await failed(uploadFailure(repo, resp, `blob upload to ${repo.name}`, 'PATCH', c.body));
          } else {
            throw uploadFailure(repo, resp, `blob upload to ${repo.name}`, 'PATCH', c.body);
          }
          const stored = await session.stored();
          if (stored === undefined || stored < pieceStart || stored > pieceStart + piece.length) continue restart;
          pos = stored - pieceStart;
        }
        at = pieceStart + piece.length;
      }
      const digest = opening.digest();
      if ((await close(repo, session, digest)) === 'done') {
        opts.log({ type: 'upload', digest, path: 'chunked', bytes: opening.bytes });
        return { digest, size: opening.bytes };
      }
      await failed(new TarpushError('REGISTRY_ERROR', `blob upload ${repo.name}@${digest}: the session was lost at the closing PUT`), 'session lost');
    } finally {
      opening.destroy();
    }
  }
}
