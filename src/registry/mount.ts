import { isTarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { hasBlob } from './blob.js';
import { discard } from './body.js';
import { pullScope, pushScope } from './scope.js';
import type { Repository } from './repository.js';
import { UploadSession } from './upload-session.js';
import { checkReportedDigest } from './upload-confirm.js';

/**
 * Cross-repository mount: `POST …/blobs/uploads/?mount=<digest>&from=<repo>`. 201 → the blob
 * is now here. Anything that is not a mount — 202 (a plain upload session, which we abandon
 * so the caller's upload starts clean), 400/401/403/404/405 (Harbor, Docker Hub, registries
 * without mounts) — resolves false: the caller uploads. A token server that refuses the
 * extra pull scope on the source repository also means "upload instead", once a token for
 * the target alone is confirmed to work.
 */

const NOT_A_MOUNT = new Set([400, 401, 403, 404, 405]);

export async function mountBlob(repo: Repository, digest: Digest, fromRepository: string): Promise<boolean> {
  const client = repo.client;
  if (fromRepository === repo.repository) return hasBlob(repo, digest);
  const target = pushScope(repo.repository);
  const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`;
  const what = `mount ${digest} from ${fromRepository} into ${repo.name}`;
  let resp;
  try {
    resp = await client.request({
      method: 'POST',
      path: `${repo.apiPath('blobs/uploads/')}${query}`,
      scopes: [target, pullScope(fromRepository)],
      headers: { 'content-length': '0' },
      retry: 'idempotent',
      what,
    });
  } catch (err) {
    if (!isTarpushError(err) || err.details.phase !== 'token') throw err;
    // The token server would not grant pull on the source (Docker Hub answers 400 for a
    // foreign one): make sure the target alone works, then upload normally.
    await client.auth.authorize([target]);
    client.options.log({ type: 'fallback', what: 'mount', reason: `token for ${fromRepository} refused (${err.code})` });
    return false;
  }
  if (resp.status === 201) {
    checkReportedDigest(repo, resp, digest);
    await discard(resp);
    client.options.log({ type: 'upload', digest, path: 'mount', bytes: 0 });
    return true;
  }
  if (resp.status === 202) {
    const session = UploadSession.fromAnswer(repo, resp);
    await discard(resp);
    await session.cancel();
    client.options.log({ type: 'fallback', what: 'mount', reason: `registry answered 202 (no mount from ${fromRepository})` });
    return false;
  }
  if (NOT_A_MOUNT.has(resp.status)) {
    await discard(resp);
    client.options.log({ type: 'fallback', what: 'mount', reason: `registry answered ${resp.status}` });
    return false;
  }
  throw await client.failure(resp, what, 'POST');
}
