import { TarpushError } from '../errors.js';
import { networkError, safeUrl } from './errors.js';
import type { HttpResponse } from './transport.js';

/**
 * Response bodies: every response is either read (bounded) or discarded here, so no socket
 * is left waiting on an unread body. A body read whole must also be done by the response's
 * `deadlineAt` (readTimeoutMs): a server trickling a byte now and then never trips the idle
 * limit, so size alone would not bound the time.
 */

/** Destroy the body with a TIMEOUT at the response's deadline; returns the cancel function. */
function armDeadline(resp: HttpResponse, what: string): () => void {
  const ms = resp.deadlineAt - Date.now();
  const fire = () =>
    resp.body.destroy(
      new TarpushError('TIMEOUT', `${what}: ${safeUrl(resp.url)} did not send its whole answer in time`, { url: safeUrl(resp.url) }),
    );
  if (ms <= 0) {
    fire();
    return () => {};
  }
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Throw away the rest of a body (small bodies are drained to keep the connection, big ones cut). */
export async function discard(resp: HttpResponse): Promise<void> {
  await resp.body.dump({ limit: 256 << 10 }).catch(() => {});
}

/** Up to `max` bytes of the body as text (error bodies, JSON lists); the rest is discarded. */
export async function readText(resp: HttpResponse, max = 64 << 10): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const disarm = armDeadline(resp, 'answer body');
  try {
    for await (const chunk of resp.body) {
      const buf = chunk as Buffer;
      const room = max - size;
      if (room <= 0) break;
      chunks.push(buf.length > room ? buf.subarray(0, room) : buf);
      size += Math.min(buf.length, room);
      if (size >= max) break;
    }
  } catch {
    // a body that breaks off (or runs out of time) still says what it said so far
  } finally {
    disarm();
    resp.body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole body, refusing more than `max` bytes (TarpushError naming `what`). */
export async function readBytes(resp: HttpResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(resp.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    resp.body.destroy();
    throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(resp.url)} sent ${declared} bytes, more than the ${max} allowed`, {
      url: safeUrl(resp.url),
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const disarm = armDeadline(resp, what);
  try {
    for await (const chunk of resp.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) {
        throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(resp.url)} sent more than the ${max} bytes allowed`, {
          url: safeUrl(resp.url),
        });
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof TarpushError) throw err;
    throw networkError(err, 'GET', resp.url, what); // the body broke off
  } finally {
    disarm();
    resp.body.destroy();
  }
  return Buffer.concat(chunks);
}

/** Parse a bounded JSON body; a malformed one is a REGISTRY_ERROR naming `what`. */
export async function readJson<T>(resp: HttpResponse, max: number, what: string): Promise<T> {
  const buf = await readBytes(resp, max, what);
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(resp.url)} sent a body that is not JSON`, { url: safeUrl(resp.url) });
  }
}
