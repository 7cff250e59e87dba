import { createHash } from 'node:crypto';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';

/** A content digest `sha256:<64 hex>` (the only algorithm registries agree on). */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

export function parseDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) throw new TarpushError('MANIFEST_INVALID', `${what} ${printable(JSON.stringify(s))} is not a sha256 digest`);
  return s;
}

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest. */
export const digestHex = (d: Digest): string => d.slice(7);
