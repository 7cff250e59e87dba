import { TarpushError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import { isTag } from '../reference/index.js';
import { printable } from '../util/printable.js';
import { readIndex } from './index-json.js';

/** Tags of an OCI layout are the `org.opencontainers.image.ref.name` annotations in index.json. */

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * What we accept as a tag in a layout: a registry tag (the reference module's rule) or
 * anything matching the image-spec ref.name grammar (components of alphanumerics joined by
 * `-._:@+` or `--`, separated by `/`), which allows names such as `example.com/app:1.0`.
 * Neither admits `..`, a leading `/`, whitespace or controls. A ref name only ever goes into
 * index.json, never into a path, but the rule keeps a name that looks like a path out.
 */
const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const OCI_REF_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export function isRefName(s: string): boolean {
  return s.length <= 255 && (isTag(s) || OCI_REF_NAME.test(s));
}

export function assertRefName(s: string, root: string): void {
  if (!isRefName(s)) {
    throw new TarpushError('REFERENCE_INVALID', `"${printable(s)}" is not a valid tag for OCI layout ${root}`, { file: root });
  }
}

export const refNameOf = (d: Descriptor): string | undefined => d.annotations?.[REF_NAME_ANNOTATION];

/** Ref names in index.json order, each once. */
export async function listTags(root: string): Promise<string[]> {
  const idx = await readIndex(root);
  const names = new Set<string>();
  for (const d of idx.manifests) {
    const name = refNameOf(d);
    if (name !== undefined) names.add(name);
  }
  return [...names];
}
