import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { ProgressFn } from '../image/sink.js';
import type { ByteSource } from '../image/types.js';
import { hasBlob } from './blob.js';
import { chunkSizeFor, shrinkAfterRefusal } from './chunk-size.js';
import { discard } from './body.js';
import type { RegistryResponse } from './client.js';
import { isTransientNetworkError } from './errors.js';
import { withQuery } from './location.js';
import { SINGLE_POST_MAX } from './options.js';
import type { Repository } from './repository.js';
import { rangeBody } from './request-body.js';
import { pushScope } from './scope.js';
import { failureOf, RetryBudget } from './retry.js';
import { classify, uploadFailure, type Outcome } from './upload-answer.js';
import { confirmStored } from './upload-confirm.js';
import { Progress } from './upload-progress.js';
import { UploadSession } from './upload-session.js';

/**
 * The upload ladder for a blob whose digest and size are known: steps 3 to 6 of "The upload
 * ladder" in docs/architecture.md (HEAD and mount, steps 1 and 2, are the caller's):
 *  - small blob → one `POST ?digest=` with the body; 201 done, 202 → PUT on the session
 *    (and this client stops trying single POSTs: the registry ignores their body);
 *  - otherwise `POST`, then one streamed monolithic `PUT ?digest=`;
 *  - a registry refusing the body size (413/416), or `chunkSize` set → chunked PATCHes with
 *    `Content-Range` (honouring OCI-Chunk-Min-Length, following the newest Location), then
 *    `PUT ?digest=`; the chunk shrinks by half on each refusal;
 *  - a failure mid-request (reset, 5xx) → ask the session what it holds (GET → Range) and
 *    resume from there by re-opening the source at that offset; a lost session (404) →
 *    start over. Failures are bounded by the client's tries.
 * The registry's Docker-Content-Digest must equal ours; a 202 on the closing PUT (Docker
 * Hub) counts only once a HEAD finds the blob.
 */

/** Start a session: POST (optionally carrying the whole small blob with ?digest=). */
async function startSession(
  repo: Repository,
  digest: Digest,
  source: ByteSource,
  progress: Progress,
  withBody: boolean,
  budget: RetryBudget,
): Promise<{ done: true } | { done: false; session: UploadSession }> {
  const client = repo.client;
  const base = await client.baseUrl();
  const url = new URL(repo.apiPath('blobs/uploads/'), base);
  const what = `blob upload ${repo.name}@${digest}`;
  progress.startAt(0);
  const resp = await client.request({
    method: 'POST',
    url: withBody ? withQuery(url, { digest }) : url,
    scopes: [pushScope(repo.repository)],
    headers: withBody
      ? { 'content-type': 'application/octet-stream', 'content-length': String(source.size) }
      : { 'content-length': '0' },
    // Both forms may be repeated: a POST without body only opens a session (an abandoned one
    // expires), and one with the body and ?digest= either stores exactly these bytes or
    // nothing. The body is produced anew from the source for each try.
    ...(withBody
      ? {
          body: () => {
            progress.startAt(0);
            return rangeBody(source, 0, source.size, progress.add);
          },
        }
      : {}),
    retry: 'idempotent',
    budget,
    what,
  });
  if (withBody && resp.status === 201) {
    await confirmStored(repo, resp, digest);
    client.features.singlePost = true;
    client.options.log({ type: 'upload', digest, path: 'single-post', bytes: source.size });
    return { done: true };
  }
  if (resp.status === 202) {
    if (withBody) {
      client.features.singlePost = false;
      client.options.log({ type: 'fallback', what: 'single-post', reason: 'registry answered 202 to a POST with the blob' });
    }
    const session = UploadSession.fromAnswer(repo, resp, budget);
    await discard(resp);
    return { done: false, session };
  }
  const { body } = await classify(resp);
  if (withBody && resp.status >= 400 && resp.status < 500 && ![401, 403, 404, 429].includes(resp.status)) {
    // Some registries refuse a body on the POST outright (400/405/413/415…): upload the usual way.
    client.features.singlePost = false;
    client.options.log({ type: 'fallback', what: 'single-post', reason: `registry answered ${resp.status} to a POST with the blob` });
    return startSession(repo, digest, source, progress, false, budget);
  }
  throw uploadFailure(repo, resp, what, 'POST', body);
}

type Step = { outcome: 'ok'; resp: RegistryResponse } | { outcome: Exclude<Outcome, 'ok'>; resp: RegistryResponse; sent: number; body: string };

/** Send bytes [offset, size) and close the session; returns the closing answer or why it stopped. */
async function sendRest(
  repo: Repository,
  session: UploadSession,
  digest: Digest,
  source: ByteSource,
  offset: number,
  chunked: boolean,
  progress: Progress,
  advanced: (at: number) => void,
): Promise<Step> {
  const size = source.size;
  progress.startAt(offset);
  if (!chunked) {
    const produce = () => {
      progress.startAt(offset);
      return rangeBody(source, offset, size, progress.add);
    };
    const resp = await session.put(digest, { produce, start: offset, end: size, total: size });
    const c = await classify(resp);
    return c.outcome === 'ok' ? { outcome: 'ok', resp } : { outcome: c.outcome, resp, sent: size - offset, body: c.body };
  }
  let at = offset;
  while (at < size) {
    const end = Math.min(size, at + chunkSizeFor(repo, session));
    const from = at;
    const produce = () => {
      progress.startAt(from);
      return rangeBody(source, from, end, progress.add);
    };
    const resp = await session.patch(produce, { start: from, end });
    const c = await classify(resp);
    if (c.outcome !== 'ok') return { outcome: c.outcome, resp, sent: end - from, body: c.body };
    await discard(resp);
    at = end;
    advanced(at);
  }
  const resp = await session.put(digest);
  const c = await classify(resp);
  return c.outcome === 'ok' ? { outcome: 'ok', resp } : { outcome: c.outcome, resp, sent: 0, body: c.body };
}

/** Upload a blob whose digest and size are known. */
export async function putBlob(repo: Repository, digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
  const client = repo.client;
  const opts = client.options;
  const progress = new Progress(onProgress);
  const what = `blob upload ${repo.name}@${digest}`;
  // One budget for the whole ladder (its requests' own retries included). A run of failures
  // starts afresh only when the registry holds more of the blob than ever before, so a
  // session lost again and again cannot loop for ever.
  const budget = new RetryBudget(opts);
  let highWater = 0;
  const advanced = (at: number): void => {
    if (at > highWater) {
      highWater = at;
      budget.progressed();
    }
  };
  /** Count a failure and wait, or give up with `err`. */
  const failed = async (err: Error, reason?: string): Promise<void> => {
    const f = failureOf(err, { method: 'upload', url: `${repo.name}@${digest}` });
    if (!(await budget.retry(f.target, reason ?? f.reason))) throw err;
  };

  for (;;) {
    const chunked = () =>
      opts.chunkSize !== undefined || (client.features.maxBody !== undefined && source.size > client.features.maxBody);
    const single = !chunked() && source.size <= SINGLE_POST_MAX && client.features.singlePost !== false;
    let started: Awaited<ReturnType<typeof startSession>>;
    try {
      started = await startSession(repo, digest, source, progress, single, budget);
    } catch (err) {
      if (!isTransientNetworkError(err)) throw err;
      await failed(err as Error);
      continue;
    }
    if (started.done) return;
    const session = started.session;
    let offset = 0;
    let resumed = false;
    for (;;) {
      let step: Step;
      try {
        step = await sendRest(repo, session, digest, source, offset, chunked(), progress, advanced);
      } catch (err) {
        if (!isTransientNetworkError(err)) throw err;
        await failed(err as Error);
        const stored = await session.stored();
        if (stored === undefined || stored > source.size) {
          opts.log({ type: 'fallback', what: 'restart', reason: 'upload session lost after a connection failure' });
          break;
        }
        offset = stored;
        advanced(offset);
        resumed = true;
        opts.log({ type: 'resume', digest, offset, reason: 'connection failed mid-upload' });
        continue;
      }
      if (step.outcome === 'ok') {
        await confirmStored(repo, step.resp, digest);
        opts.log({ type: 'upload', digest, path: chunked() ? 'chunked' : 'monolithic', bytes: source.size });
        return;
      }
      const error = uploadFailure(repo, step.resp, what, step.resp.url.searchParams.has('digest') ? 'PUT' : 'PATCH', step.body);
      if (step.outcome === 'fatal') throw error;
      if (step.outcome === 'gone') {
        // A closing PUT whose first answer was lost finds its session consumed: maybe done.
        if (await hasBlob(repo, digest)) {
          opts.log({ type: 'upload', digest, path: chunked() ? 'chunked' : 'monolithic', bytes: source.size });
          return;
        }
        await failed(error, 'upload session lost');
        opts.log({ type: 'fallback', what: 'restart', reason: 'upload session lost' });
        break;
      }
      if (step.outcome === 'digest-invalid') {
        // After a resume the registry may hold a byte twice; a clean start settles it.
        if (!resumed) throw new TarpushError('REGISTRY_DIGEST_MISMATCH', `${error.message} (the bytes of ${source.location} do not hash to ${digest})`, error.details);
        await session.cancel();
        await failed(error, 'digest invalid after resume');
        break;
      }
      if (step.outcome === 'too-large') shrinkAfterRefusal(repo, session, step.sent, digest);
      else await failed(error);
      const stored = await session.stored();
      if (stored === undefined || stored > source.size) {
        opts.log({ type: 'fallback', what: 'restart', reason: 'upload session lost' });
        break;
      }
      if (stored !== offset) resumed = true;
      offset = stored;
      advanced(offset);
    }
  }
}
