import type { Readable } from 'node:stream';
import type { Digest } from '../image/digest.js';
import type { ArchiveImage, Manifestable } from '../image/types.js';
import type { ClientOptions } from '../registry/index.js';
import { TarpushError } from '../errors.js';
import { formatReference } from '../reference/index.js';
import { printable } from '../util/printable.js';
import type { PlaceRef } from './parse.js';

/** The images a source place holds, in the one model every reader produces. */
export interface SourceImages {
  /** For messages: the path or reference as given. */
  readonly path: string;
  readonly images: readonly ArchiveImage[];
  /** What the place itself selects (`oci:DIR:TAG`, `docker-archive:F:repo:tag`): an image name, if any. */
  readonly selects?: string;
  /**
   * What refers to a manifest of this source (OCI 1.1 `subject`), opened as the same model:
   * offered by places that can list it (a registry: the referrers API or its fallback tag).
   */
  referrers?(subject: Digest): Promise<Manifestable[]>;
  /** Release what was opened (a spooled stdin, file handles). */
  close(): Promise<void>;
}

export interface SourceOptions {
  client?: ClientOptions;
  stdin?: Readable;
  onNote?: (message: string) => void;
}

/** Open a place as a source. Each kind's module is loaded only when used. */
export async function openSource(src: PlaceRef, opts: SourceOptions = {}): Promise<SourceImages> {
  if (src.kind === 'registry') {
    const { clientFor } = await import('../registry/index.js');
    const { openRegistrySource } = await import('../remote/registry-source.js');
    const { openReferrers } = await import('../remote/list-referrers.js');
    const repo = clientFor(src.ref.registry, opts.client).repository(src.ref.repository);
    const root = await openRegistrySource(repo, src.ref.digest ?? src.ref.tag ?? 'latest');
    const name = formatReference({ ...src.ref, digest: undefined });
    return { path: src.text, images: [{ index: 0, repoTags: src.ref.tag ? [name] : [], root }], referrers: (subject) => openReferrers(repo, subject), close: async () => {} };
  }
  if (src.kind === 'opened') throw new TarpushError('USAGE', `${printable(src.text)} was opened to be written, not read`);
  const { openArchive } = await import('../archive/index.js');
  const path = src.kind === 'oci' ? src.dir : src.kind === 'archive' ? src.path : src.file;
  const archive = await openArchive(path, { stdin: opts.stdin, onNote: opts.onNote });
  const selects = src.kind === 'docker-archive' ? (src.repository && `${src.repository}:${src.tag ?? 'latest'}`) : src.kind === 'archive' ? undefined : src.tag;
  return { path: archive.path, images: archive.images, ...(selects ? { selects } : {}), close: () => archive.close() };
}
