import { TarpushError } from '../errors.js';
import { isDigest } from '../image/digest.js';
import { isTag } from '../reference/index.js';

/** Validation of the names that go into API paths: repositories, tags, digests. */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export function checkRepositoryName(name: string): string {
  if (!REPOSITORY_RE.test(name) || name.length > 255) {
    throw new TarpushError('REFERENCE_INVALID', `invalid repository name ${JSON.stringify(name)}: lower-case path components separated by "/" expected`);
  }
  return name;
}

/** A manifest reference: a tag (reference/'s one tag rule) or a sha256 digest. */
export function checkManifestReference(ref: string): string {
  if (isDigest(ref) || isTag(ref)) return ref;
  throw new TarpushError('REFERENCE_INVALID', `invalid tag or digest ${JSON.stringify(ref)}`);
}
