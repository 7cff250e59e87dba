import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { parseReference, repositoryName, type Reference } from '../reference/index.js';
import { headDigest } from './resolve-digest.js';
import { withClient, type RemoteOptions } from './open.js';

export interface DeleteResult {
  /** `registry/repository@sha256:…` that was deleted. */
  reference: string;
  digest: Digest;
}

/**
 * Delete the manifest a reference names. A tag is resolved to its digest first and the
 * manifest is deleted by digest (distribution answers 400 to a delete by tag), which removes
 * every tag that points at the same manifest. Blobs stay until the registry's garbage
 * collection. Registries with deletion disabled answer UNSUPPORTED. There is no default tag:
 * a reference without tag or digest is a USAGE error.
 */
export async function deleteReference(ref: Reference | string, opts: RemoteOptions = {}): Promise<DeleteResult> {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  if (r.tag === undefined && r.digest === undefined) {
    throw new TarpushError('USAGE', `delete needs a tag or a digest: ${r.original} names neither (no default tag when deleting)`);
  }
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    const digest = r.digest ?? (await headDigest(repo, r));
    const deleted = await repo.deleteManifest(digest);
    return { reference: `${repositoryName(r)}@${deleted ?? digest}`, digest: deleted ?? digest };
  });
}
