import type { TarpushError } from '../errors.js';
import { discard, readText } from './body.js';
import type { RegistryResponse } from './client.js';
import { parseErrorBody } from './errors.js';
import type { Repository } from './repository.js';
import { RETRYABLE_STATUSES } from './retry.js';

/**
 * How an answer on an upload session (POST, PATCH, closing PUT) is to be handled; the
 * ladders (upload.ts, stream-upload.ts) decide what each outcome means for their next step.
 */
export type Outcome = 'ok' | 'too-large' | 'gone' | 'transient' | 'digest-invalid' | 'fatal';

/** Sort an answer; its body is consumed either way (headers stay readable). */
export async function classify(resp: RegistryResponse): Promise<{ outcome: Outcome; code?: string; body: string }> {
  if (resp.status >= 200 && resp.status < 300) {
    await discard(resp);
    return { outcome: 'ok', body: '' };
  }
  const body = await readText(resp, 16 << 10);
  const code = parseErrorBody(body)[0]?.code;
  let outcome: Outcome = 'fatal';
  if (resp.status === 413 || resp.status === 416) outcome = 'too-large';
  else if (resp.status === 404 || code === 'BLOB_UPLOAD_UNKNOWN' || code === 'BLOB_UPLOAD_INVALID') outcome = 'gone';
  else if (RETRYABLE_STATUSES.has(resp.status)) outcome = 'transient';
  else if (code === 'DIGEST_INVALID' || code === 'SIZE_INVALID') outcome = 'digest-invalid';
  return { outcome, ...(code !== undefined ? { code } : {}), body };
}

/**
 * Error for an upload answer we cannot continue from (body already read by classify). A
 * session's Location may point at another host: its answer is quoted as foreign text.
 */
export function uploadFailure(repo: Repository, resp: RegistryResponse, what: string, method: string, body: string): TarpushError {
  return repo.client.failureWithBody(resp, body, what, method, resp.url.host !== repo.registry);
}
