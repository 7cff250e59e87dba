import type { Readable } from 'node:stream';
import type { Digest } from '../image/digest.js';
import type { ImageSink, ProgressFn } from '../image/sink.js';
import type { ByteSource, Descriptor } from '../image/types.js';
import { getBlob, getBlobBytes, hasBlob } from './blob.js';
import type { RegistryClient } from './client.js';
import { deleteManifest } from './delete.js';
import { getManifest, headManifest, putManifest, type FetchedManifest } from './manifest.js';
import { mountBlob } from './mount.js';
import { checkRepositoryName } from './names.js';
import { listReferrers } from './referrers.js';
import { putStream } from './stream-upload.js';
import { listTags } from './tags.js';
import { putBlob } from './upload.js';

/**
 * One repository of a registry, as an ImageSink (and a source for the read verbs). Holds no
 * state of its own: pools, tokens and what was learned about the registry live in the client.
 * Each operation is in its own file.
 */
export class Repository implements ImageSink {
  readonly registry: string;
  /** Repository path inside the registry: `team/app`. */
  readonly repository: string;
  /** `registry/repository`, as ImageSink names places. */
  readonly name: string;

  constructor(
    readonly client: RegistryClient,
    repository: string,
  ) {
    this.registry = client.registry;
    this.repository = checkRepositoryName(repository);
    this.name = `${this.registry}/${this.repository}`;
  }

  /** `/v2/<repository>/<rest>`. */
  apiPath(rest: string): string {
    return `/v2/${this.repository}/${rest}`;
  }

  hasBlob(digest: Digest, size?: number): Promise<boolean> {
    return hasBlob(this, digest, size);
  }

  mountBlob(digest: Digest, fromRepository: string): Promise<boolean> {
    return mountBlob(this, digest, checkRepositoryName(fromRepository));
  }

  putBlob(digest: Digest, source: ByteSource, onProgress?: ProgressFn): Promise<void> {
    return putBlob(this, digest, source, onProgress);
  }

  putStream(open: () => Readable, onProgress?: ProgressFn): Promise<{ digest: Digest; size: number }> {
    return putStream(this, open, onProgress);
  }

  putManifest(reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    return putManifest(this, reference, raw, mediaType);
  }

  getManifest(reference: string, opts?: { accept?: string[] }): Promise<FetchedManifest> {
    return getManifest(this, reference, opts);
  }

  headManifest(reference: string): Promise<{ digest: Digest; mediaType: string; size: number } | undefined> {
    return headManifest(this, reference);
  }

  getBlob(digest: Digest): Promise<Readable> {
    return getBlob(this, digest);
  }

  getBlobBytes(digest: Digest, maxBytes: number): Promise<Buffer> {
    return getBlobBytes(this, digest, maxBytes);
  }

  tags(opts?: { n?: number; last?: string }): AsyncIterable<string> {
    return listTags(this, opts);
  }

  deleteManifest(reference: string): Promise<Digest> {
    return deleteManifest(this, reference);
  }

  referrers(digest: Digest, artifactType?: string): Promise<Descriptor[] | undefined> {
    return listReferrers(this, digest, artifactType);
  }
}
