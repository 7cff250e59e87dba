import type { ImageSink } from '../image/sink.js';
import type { Descriptor } from '../image/types.js';
import type { ClientOptions } from '../registry/index.js';
import { TarpushError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { PlaceRef } from './parse.js';

/** An opened place to write to: the sink, and what the publisher needs to know about it. */
export interface Place {
  readonly sink: ImageSink;
  /** Display name: `registry/repo`, `oci:/dir`, `oci-archive:/file`. */
  readonly name: string;
  /** Set for registry places: used to record and find cross-repository mounts. */
  readonly registry?: string;
  readonly repository?: string;
  /** Render a reference in this place for output (`reg/repo:tag`, `oci:/dir:tag`). */
  reference(tagOrDigest: string): string;
  /** List a manifest written by digest alone, so it can be found (a layout's index.json). */
  listUntagged?(d: Descriptor): Promise<void>;
  /** Record that `d` refers to `subject` where the place keeps that list itself (OCI 1.1 fallback tag, index.json). */
  recordReferrer?(subject: Descriptor, d: Descriptor): Promise<'api' | 'tag' | 'present' | 'index'>;
  /**
   * What `--format keep` means here when it cannot mean "as the source has it": layout
   * readers (skopeo, podman) skip index entries that are not OCI manifests, so a layout gets OCI.
   */
  readonly keepFormat?: 'oci' | 'docker';
  /** The place holds one platform per image (docker-save): an index becomes one of its images. */
  readonly onePlatform?: boolean;
  /** The place holds runnable images only (docker-save): no artifacts, so no referrers. */
  readonly imagesOnly?: boolean;
  /** Commit what was written (a tar writes its index files and takes its name). */
  close?(): Promise<void>;
  /** Give up: remove what was written under a temporary name. */
  abort?(): Promise<void>;
}

export interface SinkOptions {
  client?: ClientOptions;
  /** Hash every blob a layout already holds before trusting it. */
  verifyExisting?: boolean;
}

const at = (base: string) => (t: string) => `${base}${t.startsWith('sha256:') ? '@' : ':'}${t}`;

/** Open a place as a sink. Each kind's module is loaded only when used. */
export async function openSink(dest: PlaceRef, opts: SinkOptions = {}): Promise<Place> {
  switch (dest.kind) {
    case 'registry': {
      const { clientFor, recordReferrer } = await import('../registry/index.js');
      const { registry, repository } = dest.ref;
      const repo = clientFor(registry, opts.client).repository(repository, { push: true });
      return {
        sink: repo,
        name: `${registry}/${repository}`,
        registry,
        repository,
        reference: at(`${registry}/${repository}`),
        recordReferrer: (subject, d) => recordReferrer(repo, subject.digest, d),
      };
    }
    case 'oci': {
      const { openLayout } = await import('../ocidir/index.js');
      const layout = await openLayout(dest.dir, { create: true, verify: !!opts.verifyExisting });
      // A layout keeps referrers as index.json entries (found by their `subject`).
      const list = async (d: Descriptor) => layout.addIndexEntry(d);
      return {
        sink: layout,
        name: `oci:${dest.dir}`,
        keepFormat: 'oci',
        reference: at(`oci:${dest.dir}`),
        listUntagged: list,
        recordReferrer: async (_s, d) => (await list(d), 'index'),
      };
    }
    case 'oci-archive': {
      const { OciArchiveSink } = await import('../tarball/index.js');
      const sink = await OciArchiveSink.create(dest.file);
      return { sink, name: `oci-archive:${dest.file}`, reference: at(`oci-archive:${dest.file}`), close: () => sink.close(), abort: () => sink.abort() };
    }
    case 'docker-archive': {
      const { DockerArchiveSink } = await import('../tarball/index.js');
      const sink = await DockerArchiveSink.create(dest.file, dest.repository ? { repository: dest.repository } : {});
      return { sink, name: `docker-archive:${dest.file}`, reference: at(`docker-archive:${dest.file}`), onePlatform: true, imagesOnly: true, close: () => sink.close(), abort: () => sink.abort() };
    }
    case 'opened':
      return dest.place;
    case 'archive':
      throw new TarpushError('USAGE', `${printable(dest.text)} is read as an archive; to write one name its format: oci-archive:FILE or docker-archive:FILE`);
  }
}
