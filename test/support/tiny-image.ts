/**
 * A tiny OCI image built in a few milliseconds, for harness self-tests and seeding
 * registries: an OCI image-layout directory (one gzipped layer per entry of `layers`),
 * plus its raw parts so tests can upload them by hand.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface TinyBlob {
  digest: string;
  size: number;
  data: Buffer;
}

export interface TinyImage {
  /** The OCI layout directory. */
  dir: string;
  tag: string;
  /** `oci:<dir>:<tag>`, a skopeo source. */
  transport: string;
  manifest: TinyBlob;
  manifestMediaType: 'application/vnd.oci.image.manifest.v1+json';
  config: TinyBlob;
  layers: TinyBlob[];
}

export function blobOf(data: Buffer | string): TinyBlob {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, data: bytes };
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) {
    archive.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes an OCI layout into `dir` (created if missing). `layers` gives each layer's files;
 * by default one layer with one file whose content names `seed`, so two seeds give two
 * different images.
 */
export async function makeTinyImage(
  dir: string,
  opts: { tag?: string; seed?: string; layers?: Array<Record<string, string>> } = {},
): Promise<TinyImage> {
  const tag = opts.tag ?? 'latest';
  const seed = opts.seed ?? 'tarpush';
  const layerFiles = opts.layers ?? [{ 'hello.txt': `hello from ${seed}\n` }];
  const tars = await Promise.all(layerFiles.map((files) => tarOf(files)));
  const layers = tars.map((tar) => blobOf(gzipSync(tar, { level: 6 })));
  const diffIds = tars.map((tar) => blobOf(tar).digest);
  const config = blobOf(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created_by: 'tarpush test harness' })),
    }),
  );
  const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json' as const;
  const manifest = blobOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    }),
  );
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  for (const blob of [config, manifest, ...layers]) {
    await writeFile(path.join(blobsDir, blob.digest.slice('sha256:'.length)), blob.data);
  }
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifestMediaType,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, tag, transport: `oci:${dir}:${tag}`, manifest, manifestMediaType, config, layers };
}
