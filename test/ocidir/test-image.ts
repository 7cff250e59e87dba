import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { gzipParallel } from '../../src/compress/parallel-gzip.js';
import { sha256, type Digest } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';

export interface TestImage {
  layer: Buffer;
  layerDigest: Digest;
  diffId: Digest;
  config: Buffer;
  configDigest: Digest;
  manifest: Buffer;
  manifestDigest: Digest;
}

async function collect(s: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A one-layer single-platform OCI image built in memory (layer: a gzipped tar with one file). */
export async function buildTestImage(text = 'hello from tarpush\n'): Promise<TestImage> {
  const pack = tar.pack();
  pack.entry({ name: 'hello.txt', mode: 0o644, mtime: new Date(0) }, text);
  pack.finalize();
  const plain = await collect(pack);
  const layer = await collect(gzipParallel(Readable.from([plain]), { level: 6 }));
  const diffId = sha256(plain);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'tarpush test' }],
    }),
  );
  const layerDigest = sha256(layer);
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: layer.length }],
    }),
  );
  return { layer, layerDigest, diffId, config, configDigest, manifest, manifestDigest: sha256(manifest) };
}
