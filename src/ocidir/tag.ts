import { TarpushError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import { readIndex } from './index-json.js';

/** Tags of an OCI layout are the `org.opencontainers.image.ref.name` annotations in index.json. */

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * What we accept as a tag in a layout: a registry tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`)
 * or anything matching the image-spec ref.name grammar (components of alphanumerics joined
 * by `-._:@+` or `--`, separated by `/`), which allows names such as `example.com/app:1.0`.
 */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const OCI_REF_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export function isRefName(s: string): boolean {
  return s.length <= 255 && (DOCKER_TAG.test(s) || OCI_REF_NAME.test(s));
}

export function assertRefName(s: string, root: string): void {
  if (!isRefName(s)) {
    throw new TarpushError('REFERENCE_INVALID', `${JSON.stringify(s)} is not a valid tag for OCI layout ${root}`, { file: root });
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
