import type { ImageSink } from '../../src/image/sink.js';
import { bufferSource } from '../../src/image/sources.js';
import type { Image, ImageIndex } from '../../src/image/types.js';

/**
 * Put an image or index into a sink the way a publisher does: blobs first (config through
 * putBlob, layers in parallel), then each manifest by digest, children before their index,
 * then the tags. Test support only: the real pipeline is publish's.
 */
export async function putImage(sink: ImageSink, item: Image | ImageIndex, tags: readonly string[] = []): Promise<void> {
  await putItem(sink, item);
  for (const tag of tags) await sink.putManifest(tag, item.rawManifest, item.mediaType);
}

async function putItem(sink: ImageSink, item: Image | ImageIndex): Promise<void> {
  if (item.kind === 'index') {
    for (const child of item.manifests) if (child.item && child.item.kind !== 'artifact') await putItem(sink, child.item);
  } else {
    await sink.putBlob(item.config.digest, bufferSource(item.rawConfig, `config ${item.config.digest}`));
    await Promise.all(item.layers.map((l) => sink.putBlob(l.digest, l.source)));
  }
  await sink.putManifest(item.digest, item.rawManifest, item.mediaType);
}
