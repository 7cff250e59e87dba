import { TarpushError } from '../errors.js';
import { isDigest, type Digest } from '../image/digest.js';
import { discard } from './body.js';
import { headManifest } from './manifest.js';
import { checkManifestReference } from './names.js';
import type { Repository } from './repository.js';
import { deleteScope } from './scope.js';

/**
 * Delete a manifest. Registries delete by digest only (distribution answers 400 to a tag),
 * so a tag is first resolved with HEAD. 405 → UNSUPPORTED (deletes disabled).
 */
export async function deleteManifest(repo: Repository, reference: string): Promise<Digest> {
  checkManifestReference(reference);
  let digest: Digest;
  if (isDigest(reference)) {
    digest = reference;
  } else {
    const found = await headManifest(repo, reference);
    if (!found) throw new TarpushError('NOT_FOUND', `manifest ${repo.name}:${reference} not found`, { registry: repo.registry });
    digest = found.digest;
  }
  const what = `delete manifest ${repo.name}@${digest}${isDigest(reference) ? '' : ` (tag ${reference})`}`;
  const resp = await repo.client.request({
    method: 'DELETE',
    path: repo.apiPath(`manifests/${digest}`),
    scopes: [deleteScope(repo.repository)],
    what,
  });
  if (resp.status >= 200 && resp.status < 300) {
    await discard(resp);
    return digest;
  }
  throw await repo.client.failure(resp, what, 'DELETE');
}
