/**
 * The JSON documents of the bench image, byte for byte as the tools that write each archive
 * format would: compact JSON, their field order. Pure functions: digests in, strings out.
 */
import { createHash } from 'node:crypto';

export interface Desc {
  digest: string;
  size: number;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');

const EPOCH = '1970-01-01T00:00:00Z';

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** An image config as a build tool would write it: one history entry per layer. */
export function imageConfig(layerDirs: string[], diffIds: string[]): string {
  return JSON.stringify({
    architecture: goArch(),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      WorkingDir: '/',
    },
    created: EPOCH,
    history: layerDirs.map((dir) => ({ created: EPOCH, created_by: `COPY ${dir} ${dir} # tarpush bench` })),
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
}

/** The Docker schema 2 manifest go-containerregistry pushes for a tarball (its field order). */
export function dockerManifest(config: Desc, gzLayers: Desc[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.size, digest: config.digest },
    layers: gzLayers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.size, digest: l.digest })),
  });
}

/** An OCI image manifest of gzip layers, as skopeo/umoci write it into a layout. */
export function ociManifest(config: Desc, gzLayers: Desc[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: gzLayers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  });
}

export function ociIndex(manifest: Desc, refName: string): string {
  return JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifest.digest,
        size: manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': refName },
      },
    ],
  });
}

export const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** go-containerregistry tarball.Write's manifest.json. */
export function kanikoManifestJson(configDigest: string, repoTag: string, gzLayers: Desc[]): string {
  return JSON.stringify([{ Config: configDigest, RepoTags: [repoTag], Layers: gzLayers.map((l) => `${hexOf(l.digest)}.tar.gz`) }]);
}

/** Legacy v1 layer ids of a pre-Docker-25 save: a chain over the diff_ids, one per layer. */
export function v1LayerIds(diffIds: string[]): string[] {
  const ids: string[] = [];
  for (const diffId of diffIds) ids.push(sha256Hex(`${ids[ids.length - 1] ?? ''}\n${diffId}`));
  return ids;
}

/** The `<id>/json` of a pre-25 docker save layer directory. */
export function v1LayerJson(id: string, parent: string | undefined): string {
  return JSON.stringify({ id, ...(parent ? { parent } : {}), created: EPOCH, container_config: { Cmd: null }, os: 'linux' });
}

export function dockerSaveManifestJson(configHex: string, repoTag: string, layerIds: string[]): string {
  return JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: layerIds.map((id) => `${id}/layer.tar`) }]);
}

/** `repositories`: {"repo":{"tag":"<top layer id>"}}. */
export function dockerSaveRepositories(repoTag: string, topLayerId: string): string {
  const colon = repoTag.lastIndexOf(':');
  return JSON.stringify({ [repoTag.slice(0, colon)]: { [repoTag.slice(colon + 1)]: topLayerId } });
}
