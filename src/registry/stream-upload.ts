import type { Readable } from 'node:stream';
import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ProgressFn } from '../image/sink.js';
import { fileRangeSource } from '../image/sources.js';
import { hasBlob } from './blob.js';
import { discard } from './body.js';
import { chunkSizeFor, shrinkAfterRefusal } from './chunk-size.js';
import { isTransientNetworkError } from './errors.js';
import type { Repository } from './repository.js';
import { failureOf, RetryBudget } from './retry.js';
import { pushScope } from './scope.js';
import { Opening, Spool } from './spool.js';
import { classify, uploadFailure, type Outcome } from './upload-answer.js';
import { confirmStored } from './upload-confirm.js';
import { Progress } from './upload-progress.js';
import { UploadSession } from './upload-session.js';
import { putBlob } from './upload.js';

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
 *
 * Both ways run the one state machine of `runStream` (docs/architecture.md, "The upload
 * ladder", step 7): a `Feed` says where the bytes come from, the machine what follows.
 */

export async function putStream(repo: Repository, open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
  const client = repo.client;
  if (client.features.patch === false) return spoolAndPut(repo, { open }, onProgress, 'registry refuses PATCH');
  const chunked = client.options.chunkSize !== undefined || client.features.maxBody !== undefined;
  return runStream(repo, chunked ? new ChunkFeed(repo, open, onProgress) : new WholeStreamFeed(repo, open, onProgress));
}

/** The states of one streamed upload. */
type State =
  | { at: 'open' } // POST a new session; the bytes start again at 0
  | { at: 'send'; session: UploadSession; offset: number } // PATCH the bytes from `offset` on
  | { at: 'ask'; session: UploadSession; broken: boolean } // GET the session: how much does it hold?
  | { at: 'close'; session: UploadSession; digest: Digest; size: number } // PUT ?digest=, no body
  | { at: 'spool'; session: UploadSession; reason: string } // the registry takes no stream: spool, putBlob
  | { at: 'done'; digest: Digest; size: number };

/** What one PATCH of a feed came to. */
type Sent =
  | { kind: 'all'; digest: Digest; size: number } // the registry holds every byte of the stream
  | { kind: 'part'; end: number } // it holds the bytes up to `end`; more follow
  | { kind: 'broken'; err: Error } // the connection failed mid-request
  | { kind: 'unwanted'; reason: string } // the registry will not take the bytes as a stream
  | { kind: 'refused'; outcome: Exclude<Outcome, 'ok'>; error: TarpushError; bytes: number };

/** Where the bytes of a streamed upload come from, and how they are PATCHed. */
interface Feed {
  readonly path: 'stream' | 'chunked';
  /** A new session: the next `send` starts at byte 0. */
  restart(): void;
  /** One PATCH of the bytes from `offset` on. */
  send(session: UploadSession, offset: number): Promise<Sent>;
  /** Whether the bytes from `stored` on can still be sent on this session (else: a new one). */
  canResumeAt(stored: number | undefined): stored is number;
  /** Give the stream to a spool file and putBlob (only a feed that answers `unwanted`). */
  spool(reason: string): Promise<{ digest: Digest; size: number }>;
  /** Free the producer and any spool file it holds. */
  release(): Promise<void>;
}

/**
 * The machine: every transition is in the one switch. One retry budget covers the whole
 * upload (its requests' own retries included); a chunk taken further than ever before
 * starts a new run of failures, as in putBlob.
 */
async function runStream(repo: Repository, feed: Feed): Promise<{ digest: Digest; size: number }> {
  const opts = repo.client.options;
  const budget = new RetryBudget(opts);
  let highWater = 0;
  /** Count a failure and wait, or give up with `err`. */
  const failed = async (err: Error, reason?: string): Promise<void> => {
    const f = failureOf(err, { method: 'upload', url: `${repo.name} (stream)` });
    if (!(await budget.retry(f.target, reason ?? f.reason))) throw err;
  };
  const sessionLost = (digest: Digest) =>
    new TarpushError('REGISTRY_ERROR', `blob upload ${repo.name}@${digest}: the session was lost at the closing PUT`);

  let state: State = { at: 'open' };
  try {
    for (;;) {
      switch (state.at) {
        case 'open': {
          const session = await openSession(repo, budget);
          feed.restart();
          state = { at: 'send', session, offset: 0 };
          break;
        }

        case 'send': {
          const session: UploadSession = state.session;
          const sent = await feed.send(session, state.offset);
          if (sent.kind === 'all') state = { at: 'close', session, digest: sent.digest, size: sent.size };
          else if (sent.kind === 'part') {
            if (sent.end > highWater) {
              highWater = sent.end;
              budget.progressed();
            }
            state = { at: 'send', session, offset: sent.end };
          } else if (sent.kind === 'broken') {
            await failed(sent.err);
            state = { at: 'ask', session, broken: true };
          } else if (sent.kind === 'unwanted') state = { at: 'spool', session, reason: sent.reason };
          else if (sent.outcome === 'too-large') {
            shrinkAfterRefusal(repo, session, sent.bytes, '(stream)');
            state = { at: 'ask', session, broken: false };
          } else if (sent.outcome === 'gone') {
            await failed(sent.error, 'session lost');
            state = { at: 'open' };
          } else if (sent.outcome === 'transient') {
            await failed(sent.error);
            state = { at: 'ask', session, broken: false };
          } else throw sent.error; // fatal, digest-invalid
          break;
        }

        case 'ask': {
          const stored: number | undefined = await state.session.stored();
          if (!feed.canResumeAt(stored)) {
            state = { at: 'open' }; // the session is lost, or holds bytes no longer at hand
            break;
          }
          if (state.broken) opts.log({ type: 'resume', digest: '(stream)', offset: stored, reason: 'connection failed mid-stream' });
          state = { at: 'send', session: state.session, offset: stored };
          break;
        }

        case 'close':
          if ((await close(repo, state.session, state.digest)) === 'done') {
            opts.log({ type: 'upload', digest: state.digest, path: feed.path, bytes: state.size });
            state = { at: 'done', digest: state.digest, size: state.size };
          } else {
            await failed(sessionLost(state.digest), 'session lost');
            state = { at: 'open' };
          }
          break;

        case 'spool':
          await state.session.cancel();
          return await feed.spool(state.reason);

        case 'done':
          return { digest: state.digest, size: state.size };
      }
    }
  } finally {
    await feed.release();
  }
}

/**
 * The whole rest of the stream as one PATCH, from a fresh opening of the producer each
 * time. The first stream of a client (PATCH support unknown) is teed into a spool file, so a
 * refusal continues the same opening into it instead of producing the bytes again.
 */
class WholeStreamFeed implements Feed {
  readonly path = 'stream';
  private opening: Opening | undefined;
  private tee: Spool | undefined;
  private readonly progress: Progress;

  constructor(
    private readonly repo: Repository,
    private readonly open: () => Readable,
    private readonly onProgress: ProgressFn | undefined,
  ) {
    this.progress = new Progress(onProgress);
  }

  restart(): void {}

  async send(session: UploadSession, skip: number): Promise<Sent> {
    await this.release();
    const features = this.repo.client.features;
    const tee = features.patch === undefined && skip === 0 ? await Spool.create(this.repo.client.options.tmpDir) : undefined;
    this.tee = tee;
    const produce = () => {
      // Called again when a 401 makes the client re-send: a fresh opening, without the tee
      // (which holds the first opening's bytes), so a refusal then runs the producer anew.
      const first = this.opening === undefined;
      this.opening?.destroy();
      this.opening = new Opening(this.open, first ? tee : undefined);
      this.progress.startAt(skip);
      return this.opening.body(skip, this.progress.add);
    };
    let resp;
    try {
      resp = await session.patch(produce, undefined);
    } catch (err) {
      if (!isTransientNetworkError(err)) throw err;
      return { kind: 'broken', err: err as Error };
    }
    const c = await classify(resp);
    const o = this.opening!;
    if (c.outcome === 'ok') {
      if (!o.ended) throw new TarpushError('REGISTRY_ERROR', `blob upload to ${this.repo.name}: the registry answered before the stream ended`);
      features.patch = true;
      return { kind: 'all', digest: o.digest(), size: o.bytes };
    }
    const uploadCode = c.code === 'BLOB_UPLOAD_UNKNOWN' || c.code === 'BLOB_UPLOAD_INVALID';
    const unsupported =
      c.code === 'UNSUPPORTED' || resp.status === 405 || resp.status === 501 || (skip === 0 && !uploadCode && (resp.status === 404 || resp.status === 400));
    if (unsupported) {
      features.patch = false;
      return { kind: 'unwanted', reason: `registry refused PATCH (${resp.status})` };
    }
    if (c.outcome === 'too-large') return { kind: 'unwanted', reason: `registry refused the streamed body size (${resp.status})` };
    return { kind: 'refused', outcome: c.outcome, error: uploadFailure(this.repo, resp, `blob upload to ${this.repo.name}`, 'PATCH', c.body), bytes: 0 };
  }

  canResumeAt(stored: number | undefined): stored is number {
    return stored !== undefined;
  }

  async spool(reason: string): Promise<{ digest: Digest; size: number }> {
    // With a tee the bytes read so far are in the spool and the rest comes from the same
    // opening (spoolAndPut then owns both); without one the producer runs again, into a new spool.
    const o = this.opening;
    if (o?.tee) {
      this.opening = undefined;
      this.tee = undefined;
      return spoolAndPut(this.repo, { opening: o as Opening & { tee: Spool } }, this.onProgress, reason);
    }
    await this.release();
    return spoolAndPut(this.repo, { open: this.open }, this.onProgress, reason);
  }

  async release(): Promise<void> {
    this.opening?.destroy();
    this.opening = undefined;
    await this.tee?.remove();
    this.tee = undefined;
  }
}

/**
 * The stream cut into Content-Range chunks: one opening per session, read a piece (one
 * chunk) at a time, so a resume can go back within the piece in memory but no further.
 */
class ChunkFeed implements Feed {
  readonly path = 'chunked';
  private opening: Opening | undefined;
  private pending: Buffer[] = [];
  private piece: Buffer = Buffer.alloc(0);
  private pieceStart = 0;
  private readonly progress: Progress;

  constructor(
    private readonly repo: Repository,
    private readonly open: () => Readable,
    onProgress: ProgressFn | undefined,
  ) {
    this.progress = new Progress(onProgress);
  }

  restart(): void {
    this.opening?.destroy();
    this.opening = new Opening(this.open);
    this.pending = [];
    this.piece = Buffer.alloc(0);
    this.pieceStart = 0;
  }

  async send(session: UploadSession, offset: number): Promise<Sent> {
    const opening = this.opening!;
    if (offset >= this.pieceStart + this.piece.length) {
      this.pieceStart += this.piece.length;
      this.piece = await opening.read(chunkSizeFor(this.repo, session), this.pending);
      if (this.piece.length === 0) return { kind: 'all', digest: opening.digest(), size: opening.bytes };
    }
    const pos = offset - this.pieceStart;
    const len = Math.min(this.piece.length - pos, chunkSizeFor(this.repo, session));
    const slice = this.piece.subarray(pos, pos + len);
    let resp;
    try {
      resp = await session.patch(() => slice, { start: offset, end: offset + len });
    } catch (err) {
      if (!isTransientNetworkError(err)) throw err;
      return { kind: 'broken', err: err as Error };
    }
    const c = await classify(resp);
    if (c.outcome === 'ok') {
      this.progress.startAt(offset + len);
      return { kind: 'part', end: offset + len };
    }
    return { kind: 'refused', outcome: c.outcome, error: uploadFailure(this.repo, resp, `blob upload to ${this.repo.name}`, 'PATCH', c.body), bytes: len };
  }

  canResumeAt(stored: number | undefined): stored is number {
    return stored !== undefined && stored >= this.pieceStart && stored <= this.pieceStart + this.piece.length;
  }

  spool(): Promise<{ digest: Digest; size: number }> {
    throw new Error('a chunked stream is never spooled'); // send() never answers 'unwanted'
  }

  async release(): Promise<void> {
    this.opening?.destroy();
    this.opening = undefined;
  }
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
    scopes: [pushScope(repo.repository)],
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

/** Close a session whose bytes are all sent: 'restart' when it must be started over. */
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
