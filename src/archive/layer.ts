import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { TarpushError } from '../errors.js';
import { detectCompression } from '../compress/detect.js';
import type { Digest } from '../image/digest.js';
import { compressionOfMediaType, layerMediaType, type Compression, type ManifestFormat } from '../image/media-types.js';
import { isForeignLayerMediaType } from '../image/validate.js';
import type { Descriptor, Layer } from '../image/types.js';
import { readHead, regionSource, type FileRegion } from './files.js';

/**
 * sha256 of a file region, streamed (memory stays at one read buffer). This reads the
 * whole region: readers only call it for layers whose digest nothing in the archive
 * states (a gzip layer in a docker save archive under a name that is not its digest).
 */
export async function hashRegion(r: FileRegion): Promise<Digest> {
  const h = createHash('sha256');
  for await (const chunk of regionSource(r).open()) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

export interface LayerFromRegion {
  region: FileRegion;
  /** Digest of the stored bytes when the archive states it (descriptor, or a name that is a digest). */
  digest?: Digest;
  /** Media type when the archive declares one; otherwise derived from `format` and the detected compression. */
  mediaType?: string;
  format: ManifestFormat;
  diffId: Digest;
  urls?: string[];
  annotations?: Record<string, string>;
}

/**
 * A layer stored in the archive. Compression comes from the first bytes, not the name or
 * media type. The stored digest is, in order: the one the archive states; the diff_id for
 * uncompressed bytes (by definition the same hash); or a hash of the bytes, computed here.
 */
export async function layerFromRegion(input: LayerFromRegion): Promise<Layer> {
  const { region } = input;
  const compression: Compression = detectCompression(await readHead(region, 4));
  const digest = input.digest ?? (compression === 'none' ? input.diffId : await hashRegion(region));
  const mediaType = input.mediaType ?? layerMediaType(input.format, compression);
  const layer: { -readonly [K in keyof Layer]: Layer[K] } = {
    digest,
    size: region.size,
    mediaType,
    compression,
    diffId: input.diffId,
    source: regionSource(region),
  };
  if (isForeignLayerMediaType(mediaType)) layer.foreign = true;
  if (input.urls?.length) layer.urls = input.urls;
  if (input.annotations && Object.keys(input.annotations).length > 0) layer.annotations = input.annotations;
  return layer;
}

/**
 * A foreign (non-distributable) layer whose bytes are not in the archive: it is described
 * by its descriptor only (`absent: true`), and opening it fails with ARCHIVE_ENTRY_MISSING.
 * Publishers must not upload it: the manifest keeps its descriptor, urls included, and
 * runtimes fetch it from there.
 */
export function absentForeignLayer(d: Descriptor, diffId: Digest, where: string): Layer {
  const location = `${where} (foreign layer ${d.digest}, not in the archive)`;
  const layer: { -readonly [K in keyof Layer]: Layer[K] } = {
    digest: d.digest,
    size: d.size,
    mediaType: d.mediaType,
    compression: compressionOfMediaType(d.mediaType) ?? 'none',
    diffId,
    foreign: true,
    absent: true,
    source: {
      size: d.size,
      location,
      open() {
        const r = new Readable({ read() {} });
        r.destroy(new TarpushError('ARCHIVE_ENTRY_MISSING', `${location}: the bytes are not in the archive`, { entry: location }));
        return r;
      },
    },
  };
  if (d.urls?.length) layer.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length > 0) layer.annotations = d.annotations;
  return layer;
}
