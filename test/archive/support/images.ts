import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../../src/image/digest.js';
import type { Descriptor, Platform } from '../../../src/image/types.js';
import { packTar, type TarSpec } from './build-tar.js';

/**
 * Small image archives in every layout tarpush reads, built the way the real tools lay
 * them out (kaniko/go-containerregistry, docker save before and after 25, skopeo, OCI).
 */

export const sha = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const hex = (d: string): string => d.slice('sha256:'.length);

export interface LayerBlob {
  /** The uncompressed layer tar. */
  tar: Buffer;
  /** Bytes as stored in the archive. */
  stored: Buffer;
  compression: 'gzip' | 'none';
  digest: Digest;
  diffId: Digest;
  size: number;
}

export async function makeLayer(files: Record<string, string>, compression: 'gzip' | 'none' = 'gzip'): Promise<LayerBlob> {
  const tar = await packTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  const stored = compression === 'gzip' ? gzipSync(tar) : tar;
  return { tar, stored, compression, digest: sha(stored), diffId: sha(tar), size: stored.length };
}

export function makeConfig(diffIds: readonly string[], platform: Platform = { os: 'linux', architecture: 'amd64' }): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Env: ['PATH=/usr/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

export interface SimpleImage {
  tags: string[];
  layers: LayerBlob[];
  config: Buffer;
  /** go-containerregistry LayerSources: diff_id → descriptor (kaniko only). */
  layerSources?: Record<string, Descriptor>;
}

/** kaniko / go-containerregistry tarball.Write layout. */
export function kanikoEntries(images: readonly SimpleImage[]): TarSpec[] {
  const out: TarSpec[] = [];
  const seen = new Set<string>();
  const manifest = images.map((im) => {
    const cfgName = sha(im.config);
    if (!seen.has(cfgName)) {
      seen.add(cfgName);
      out.push({ name: cfgName, data: im.config });
    }
    const layerNames = im.layers.map((l) => {
      const name = `${hex(l.digest)}.tar.gz`;
      if (!seen.has(name)) {
        seen.add(name);
        out.push({ name, data: l.stored });
      }
      return name;
    });
    return { Config: cfgName, RepoTags: im.tags, Layers: layerNames, ...(im.layerSources ? { LayerSources: im.layerSources } : {}) };
  });
  out.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return out;
}

/**
 * docker save (before 25): `<id>/layer.tar`, `<id>/json`, `<id>/VERSION`, `<hex>.json`
 * config, `repositories`. With `skopeo`, layers are stored as `<diffid-hex>.tar` and each
 * `<id>/layer.tar` is a symlink to `../<diffid-hex>.tar` (what skopeo's docker-archive writes).
 */
export function dockerSaveEntries(images: readonly SimpleImage[], opts: { skopeo?: boolean } = {}): TarSpec[] {
  const out: TarSpec[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const manifest = images.map((im, i) => {
    const layerNames = im.layers.map((l, j) => {
      const id = hex(sha(`${i}/${j}/${l.diffId}`));
      out.push({ name: `${id}/`, type: 'directory' });
      out.push({ name: `${id}/VERSION`, data: '1.0' });
      out.push({ name: `${id}/json`, data: JSON.stringify({ id }) });
      if (opts.skopeo) {
        const target = `${hex(l.diffId)}.tar`;
        if (!out.some((e) => e.name === target)) out.push({ name: target, data: l.stored });
        out.push({ name: `${id}/layer.tar`, type: 'symlink', linkname: `../${target}` });
      } else {
        out.push({ name: `${id}/layer.tar`, data: l.stored });
      }
      return `${id}/layer.tar`;
    });
    const cfgName = `${hex(sha(im.config))}.json`;
    out.push({ name: cfgName, data: im.config });
    for (const t of im.tags) {
      const [repo, tag] = [t.slice(0, t.lastIndexOf(':')), t.slice(t.lastIndexOf(':') + 1)];
      (repositories[repo] ??= {})[tag] = hex(layerNames[layerNames.length - 1]!.split('/')[0]!.padEnd(64, '0'));
    }
    return { Config: cfgName, RepoTags: im.tags.length ? im.tags : null, Layers: layerNames };
  });
  out.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  out.push({ name: 'repositories', data: JSON.stringify(repositories) });
  return out;
}

/** Content-addressed blobs of an OCI layout under construction. */
export class Blobs {
  readonly map = new Map<string, Buffer>();
  add(data: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const digest = sha(data);
    this.map.set(`blobs/sha256/${hex(digest)}`, data);
    return { mediaType, digest, size: data.length, ...extra };
  }
}

export const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** Add an OCI image manifest (and its config and layers) to `blobs`; returns its descriptor. */
export function ociImage(
  blobs: Blobs,
  layers: readonly LayerBlob[],
  config: Buffer,
  extra: Partial<Descriptor> = {},
  manifestExtra: Record<string, unknown> = {},
): Descriptor {
  const cfg = blobs.add(config, OCI.config);
  const ls = layers.map((l) => blobs.add(l.stored, l.compression === 'gzip' ? OCI.layerGzip : OCI.layer));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: cfg, layers: ls, ...manifestExtra }));
  return blobs.add(manifest, OCI.manifest, extra);
}

export function ociIndex(blobs: Blobs, children: readonly Descriptor[], extra: Partial<Descriptor> = {}, indexExtra: Record<string, unknown> = {}): Descriptor {
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: children, ...indexExtra }));
  return blobs.add(index, OCI.index, extra);
}

/** The files of an OCI layout whose index.json lists `top`. */
export function ociLayoutEntries(blobs: Blobs, top: readonly Descriptor[], extra: TarSpec[] = []): TarSpec[] {
  return [
    { name: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: top }) },
    ...[...blobs.map].map(([name, data]) => ({ name, data })),
    ...extra,
  ];
}

/** Materialise tar specs as a directory tree (for OCI layout directories). */
export async function writeTree(root: string, entries: readonly TarSpec[]): Promise<void> {
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.type === 'directory') {
      await mkdir(p, { recursive: true });
      continue;
    }
    await mkdir(dirname(p), { recursive: true });
    if (e.type === 'symlink') await symlink(e.linkname!, p);
    else await writeFile(p, e.data ?? '');
  }
}
