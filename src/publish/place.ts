import type { ImageSink } from '../image/sink.js';
import type { ClientOptions } from '../registry/index.js';
import type { Destination } from './destination.js';

/** An opened destination: the sink plus what the digest cache needs to know about it. */
export interface Place {
  readonly sink: ImageSink;
  /** Display name: `registry/repo` or `oci:/dir`. */
  readonly name: string;
  /** Set for registry places: used to record and find cross-repository mounts. */
  readonly registry?: string;
  readonly repository?: string;
  /** Render a reference in this place for output (`reg/repo:tag`, `oci:/dir:tag`). */
  reference(tagOrDigest: string): string;
}

export async function openPlace(dest: Destination, client: ClientOptions | undefined, opts: { verifyExisting?: boolean } = {}): Promise<Place> {
  if (dest.kind === 'oci') {
    const { openLayout } = await import('../ocidir/index.js');
    const layout = await openLayout(dest.dir, { create: true, verify: !!opts.verifyExisting });
    return {
      sink: layout,
      name: `oci:${dest.dir}`,
      reference: (t) => `oci:${dest.dir}${t.startsWith('sha256:') ? '@' : ':'}${t}`,
    };
  }
  const { clientFor } = await import('../registry/index.js');
  const { registry, repository } = dest.ref;
  const repo = clientFor(registry, client).repository(repository);
  const display = `${registry}/${repository}`;
  return {
    sink: repo,
    name: display,
    registry,
    repository,
    reference: (t) => `${display}${t.startsWith('sha256:') ? '@' : ':'}${t}`,
  };
}
