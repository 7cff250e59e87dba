/** Media types of the OCI image spec and Docker's distribution schema 2. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type ManifestFormat = 'docker' | 'oci';
export type Compression = 'gzip' | 'zstd' | 'none';

export const isIndexMediaType = (m: string): boolean =>
  m === MediaType.ociIndex || m === MediaType.dockerManifestList;

export const isManifestMediaType = (m: string): boolean =>
  m === MediaType.ociManifest || m === MediaType.dockerManifest;

/** Layer media type for a format and compression. */
export function layerMediaType(format: ManifestFormat, compression: Compression): string {
  if (format === 'docker') {
    if (compression === 'gzip') return MediaType.dockerLayerGzip;
    if (compression === 'none') return MediaType.dockerLayer;
    // Docker has no zstd layer type; registries and containerd accept the OCI one in docker manifests.
    return MediaType.ociLayerZstd;
  }
  if (compression === 'gzip') return MediaType.ociLayerGzip;
  if (compression === 'zstd') return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}

/** Compression a layer media type declares, or undefined for unknown media types. */
export function compressionOfMediaType(m: string): Compression | undefined {
  if (m.endsWith('+gzip') || m.endsWith('.tar.gzip')) return 'gzip';
  if (m.endsWith('+zstd')) return 'zstd';
  if (m === MediaType.ociLayer || m === MediaType.dockerLayer || m.endsWith('.v1.tar')) return 'none';
  return undefined;
}

export const formatOfManifestMediaType = (m: string): ManifestFormat =>
  m === MediaType.dockerManifest || m === MediaType.dockerManifestList ? 'docker' : 'oci';
