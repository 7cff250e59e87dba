/**
 * Shared pieces of the registry client tests: fast retry settings, an event/error recorder,
 * random blobs, and the leak checks every integration test file runs at its end (no secret
 * in any error message or log event, no Authorization header sent to a foreign origin).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { isTarpushError, type ErrorCode, type TarpushError } from '../../src/errors.js';
import type { Digest } from '../../src/image/digest.js';
import { bufferSource } from '../../src/image/sources.js';
import type { ByteSource } from '../../src/image/types.js';
import { RegistryClient, type ClientEvent, type ClientOptions } from '../../src/registry/index.js';
import type { RecordedRequest } from '../support/proxy.js';
import type { RegistryHandle } from '../support/registry.js';

/** Retry settings that keep failure tests fast. */
export const FAST: Pick<ClientOptions, 'retryBaseMs' | 'maxRetryWaitMs'> = { retryBaseMs: 2, maxRetryWaitMs: 3000 };

export interface TestBlob {
  data: Buffer;
  digest: Digest;
  size: number;
  source: ByteSource;
}

export function digestOf(data: Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function randomBlob(size: number): TestBlob {
  const data = randomBytes(size);
  return { data, digest: digestOf(data), size, source: bufferSource(data, `test blob of ${size} bytes`) };
}

/** A producer for putStream: the same bytes each time, in chunks of `chunk`; counts openings. */
export function producer(data: Buffer, chunk = 64 << 10): { open: () => Readable; opened: () => number } {
  let n = 0;
  return {
    open: () => {
      n++;
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
      return Readable.from(parts);
    },
    opened: () => n,
  };
}

/** Collects client events and the errors tests saw, for the leak checks. */
export class Recorder {
  readonly events: ClientEvent[] = [];
  readonly errors: Error[] = [];
  readonly log = (e: ClientEvent): void => {
    this.events.push(e);
  };

  /** Await a rejection with `code`; the error is kept for the leak checks. */
  async rejects(p: Promise<unknown>, code: ErrorCode): Promise<TarpushError> {
    try {
      await p;
    } catch (err) {
      this.errors.push(err as Error);
      assert.ok(isTarpushError(err), `expected a TarpushError ${code}, got ${String(err)}`);
      assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
      return err;
    }
    assert.fail(`expected a rejection with ${code}`);
  }

  of<T extends ClientEvent['type']>(type: T): Extract<ClientEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ClientEvent, { type: T }> => e.type === type);
  }
}

/** Every secret a test registry and its traffic involve: passwords, Basic values, bearer tokens. */
export function secretsOf(reg: RegistryHandle, requests: readonly RecordedRequest[] = []): string[] {
  const out = new Set<string>();
  for (const u of [reg.users.admin, reg.users.reader]) {
    out.add(u.password);
    out.add(Buffer.from(`${u.username}:${u.password}`).toString('base64'));
  }
  for (const r of requests) {
    const a = r.headers.authorization;
    for (const v of Array.isArray(a) ? a : a ? [a] : []) {
      const m = /^(?:Bearer|Basic)\s+(\S+)$/i.exec(v);
      if (m) out.add(m[1]!);
    }
  }
  return [...out].filter((s) => s.length >= 8);
}

/** No secret in error messages, error details or log events. */
export function assertNoSecrets(rec: Recorder, secrets: readonly string[]): void {
  const texts = [
    ...rec.errors.map((e) => `${e.message} ${JSON.stringify((e as TarpushError).details ?? {})} ${String((e as Error).stack)}`),
    ...rec.events.map((e) => JSON.stringify(e)),
  ];
  for (const secret of secrets) {
    for (const t of texts) assert.ok(!t.includes(secret), `a secret leaked into: ${t.slice(0, 200)}`);
  }
}

/** No request recorded at a foreign origin (redirect target) carried credentials. */
export function assertNoForeignAuthorization(requests: readonly RecordedRequest[]): void {
  for (const r of requests) {
    if (r.origin !== 'redirect-target') continue;
    assert.equal(r.headers.authorization, undefined, `${r.method} ${r.path} at the redirect target carried Authorization`);
    assert.equal(r.headers.cookie, undefined, `${r.method} ${r.path} at the redirect target carried a cookie`);
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Requests recorded by a proxy, filtered by method and a path pattern. */
export function recorded(requests: readonly RecordedRequest[], method: string, path?: RegExp): RecordedRequest[] {
  return requests.filter((r) => r.method === method && (!path || path.test(r.path)));
}

/**
 * This machine's host name when it resolves to a 127.x address: a name that reaches the
 * local registry without being "loopback" by name (so proxies and the https-only rule apply).
 * Undefined when there is no such name; tests needing it are skipped then.
 */
export async function localNonLoopbackName(): Promise<string | undefined> {
  const name = hostname().toLowerCase();
  if (name === 'localhost' || !/^[a-z0-9.-]+$/.test(name)) return undefined;
  try {
    const { address } = await lookup(name, { family: 4 });
    return address.startsWith('127.') ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The bytes the registry itself holds for a blob, read straight from it (not through a proxy). */
export async function storedBlob(reg: RegistryHandle, repoName: string, digest: string): Promise<Buffer> {
  const direct = new RegistryClient(reg.host, FAST);
  try {
    return await direct.repository(repoName).getBlobBytes(digest as Digest, 64 << 20);
  } finally {
    await direct.close();
  }
}
