import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { hasBlob } from './blob.js';
import { discard } from './body.js';
import type { RegistryResponse } from './client.js';
import { safeUrl } from './errors.js';
import type { Repository } from './repository.js';
import { RetryBudget } from './retry.js';
import { header } from './transport.js';

/** The last rung of every upload path: the registry's answer says the blob is ours. */

/** Check the registry's Docker-Content-Digest (when present) against ours. */
export function checkReportedDigest(repo: Repository, resp: RegistryResponse, digest: Digest): void {
  const reported = header(resp, 'docker-content-digest');
  if (reported !== undefined && reported !== digest) {
    throw new TarpushError(
      'REGISTRY_DIGEST_MISMATCH',
      `blob ${repo.name}@${digest}: the registry stored it as ${reported}`,
      { expected: digest, actual: reported, url: safeUrl(resp.url) },
    );
  }
}

/**
 * After a successful closing PUT (or single POST): check the digest; a 202 means "accepted,
 * maybe later" (Docker Hub), so the blob must show up on HEAD before we call it done.
 */
export async function confirmStored(repo: Repository, resp: RegistryResponse, digest: Digest): Promise<void> {
  checkReportedDigest(repo, resp, digest);
  await discard(resp);
  if (resp.status !== 202) return;
  const opts = repo.client.options;
  // Docker Hub makes a 202'd blob visible within moments: a few looks, not a whole budget.
  const budget = new RetryBudget(opts, { retries: Math.min(2, opts.retries) });
  for (;;) {
    if (await hasBlob(repo, digest)) return;
    if (!(await budget.retry({ method: 'HEAD', url: `${repo.name}@${digest}` }, 'accepted (202) but not there yet'))) {
      throw new TarpushError('REGISTRY_ERROR', `blob ${repo.name}@${digest}: the registry accepted it (202) but does not have it`, {
        expected: digest,
        url: safeUrl(resp.url),
      });
    }
  }
}
