/**
 * Valid little images in each archive format, as editable parts. Each malformed case starts
 * from one of these and breaks exactly one thing, so a reader that rejects it can only be
 * rejecting that one defect.
 */
import { gzipSync } from 'node:zlib';
import { sha256, sha256hex, tarArchive, type TarEntrySpec } from './tar-bytes.js';

export const CREATED = '2023-11-14T22:13:20Z';

/** A filesystem layer: a tar of one small text file. */
export function layerTar(label: string, lines = 20): Buffer {
  let text = '';
  for (let i = 0; i < lines; i++) text += `${label} ${i}: malformed corpus base layer\n`;
  return tarArchive([
    { name: `${label}/`, type: 'dir' },
    { name: `${label}/file.txt`, data: Buffer.from(text) },
  ]);
}

export const gz = (b: Buffer): Buffer => gzipSync(b, { level: 6 });

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function imageConfig(diffIds: string[]): { [k: string]: Json } {
  return {
    architecture: 'amd64',
    os: 'linux',
    created: CREATED,
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created: CREATED, created_by: `layer ${i}` })),
  };
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

// --- kaniko / go-containerregistry tarball ------------------------------------------------

export interface KanikoParts {
  configBytes: Buffer;
  configName: string;
  layers: { name: string; data: Buffer; tar: Buffer; diffId: string }[];
  manifest: { [k: string]: Json }[];
}

export function kanikoParts(nLayers = 2): KanikoParts {
  const tars = Array.from({ length: nLayers }, (_, i) => layerTar(`k${i}`, 30 + i * 10));
  const layers = tars.map((tar) => {
    const data = gz(tar);
    return { name: `${sha256hex(data)}.tar.gz`, data, tar, diffId: sha256(tar) };
  });
  const configBytes = json(imageConfig(layers.map((l) => l.diffId)));
  const configName = sha256(configBytes);
  return {
    configBytes,
    configName,
    layers,
    manifest: [{ Config: configName, RepoTags: ['registry.example/corpus/kaniko:latest'], Layers: layers.map((l) => l.name) }],
  };
}

/** Entries in go-containerregistry's order: config, layers, manifest.json last. */
export function kanikoEntries(p: KanikoParts, manifestBytes: Buffer = json(p.manifest)): TarEntrySpec[] {
  return [
    { name: p.configName, data: p.configBytes },
    ...p.layers.map((l) => ({ name: l.name, data: l.data })),
    { name: 'manifest.json', data: manifestBytes },
  ];
}

// --- docker save before Docker 25 ---------------------------------------------------------

export interface DockerSaveParts {
  configBytes: Buffer;
  configName: string;
  /** v1 layer directory ids, layer tars. */
  layers: { id: string; tar: Buffer; diffId: string }[];
  manifest: { [k: string]: Json }[];
}

export function dockerSaveParts(nLayers = 2): DockerSaveParts {
  const layers = Array.from({ length: nLayers }, (_, i) => {
    const tar = layerTar(`d${i}`, 25 + i * 5);
    return { id: sha256hex(`v1-${i}`), tar, diffId: sha256(tar) };
  });
  const configBytes = json(imageConfig(layers.map((l) => l.diffId)));
  const configName = `${sha256hex(configBytes)}.json`;
  return {
    configBytes,
    configName,
    layers,
    manifest: [{ Config: configName, RepoTags: ['example.com/corpus/docker:v1'], Layers: layers.map((l) => `${l.id}/layer.tar`) }],
  };
}

/** Entries sorted by name as docker save writes them. */
export function dockerSaveEntries(p: DockerSaveParts, manifestBytes: Buffer = json(p.manifest)): TarEntrySpec[] {
  const entries: TarEntrySpec[] = [];
  for (const l of p.layers) {
    entries.push({ name: `${l.id}/`, type: 'dir' });
    entries.push({ name: `${l.id}/VERSION`, data: Buffer.from('1.0') });
    entries.push({ name: `${l.id}/json`, data: json({ id: l.id, os: 'linux' }) });
    entries.push({ name: `${l.id}/layer.tar`, data: l.tar });
  }
  entries.push({ name: p.configName, data: p.configBytes });
  entries.push({ name: 'manifest.json', data: manifestBytes });
  entries.push({ name: 'repositories', data: json({ 'example.com/corpus/docker': { v1: p.layers.at(-1)?.id ?? '' } }) });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// --- OCI image layout (archive or directory) ----------------------------------------------

export interface OciParts {
  ociLayout: Buffer;
  /** index.json as an object (edit it, or replace indexBytes). */
  index: { [k: string]: Json };
  indexBytes?: Buffer;
  /** blobs by hex digest; the manifest, config and layers of one image. */
  blobs: Map<string, Buffer>;
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
}

export interface OciEdits {
  config?: (c: { [k: string]: Json }) => void;
  manifest?: (m: { [k: string]: Json }) => void;
  /** edits of the index.json descriptor of the manifest */
  descriptor?: (d: { [k: string]: Json }) => void;
}

/** One linux/amd64 image with gzip layers; edits are applied before digests are taken. */
export function ociParts(edits: OciEdits = {}, nLayers = 2): OciParts {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer): string => {
    blobs.set(sha256hex(b), b);
    return sha256(b);
  };
  const tars = Array.from({ length: nLayers }, (_, i) => layerTar(`o${i}`, 20 + i * 7));
  const gzs = tars.map(gz);
  const diffIds = tars.map(sha256);
  const config = imageConfig(diffIds);
  edits.config?.(config);
  const configBytes = json(config);
  const configDigest = put(configBytes);
  const layerDigests = gzs.map(put);
  const manifest: { [k: string]: Json } = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: gzs.map((g, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i]!, size: g.length })),
  };
  edits.manifest?.(manifest);
  const manifestBytes = json(manifest);
  const manifestDigest = put(manifestBytes);
  const descriptor: { [k: string]: Json } = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: manifestDigest,
    size: manifestBytes.length,
    annotations: { 'org.opencontainers.image.ref.name': 'corpus' },
  };
  edits.descriptor?.(descriptor);
  return {
    ociLayout: Buffer.from('{"imageLayoutVersion":"1.0.0"}'),
    index: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [descriptor] },
    blobs,
    manifestDigest,
    configDigest,
    layerDigests,
    diffIds,
  };
}

/** Entries of an OCI layout archive: blobs (sorted), index.json, oci-layout. */
export function ociEntries(p: OciParts, opts: { omit?: string[] } = {}): TarEntrySpec[] {
  const entries: TarEntrySpec[] = [
    { name: 'blobs/', type: 'dir' },
    { name: 'blobs/sha256/', type: 'dir' },
  ];
  for (const hex of [...p.blobs.keys()].sort()) entries.push({ name: `blobs/sha256/${hex}`, data: p.blobs.get(hex)! });
  entries.push({ name: 'index.json', data: p.indexBytes ?? json(p.index) });
  entries.push({ name: 'oci-layout', data: p.ociLayout });
  const omit = new Set(opts.omit ?? []);
  return entries.filter((e) => !omit.has(e.name));
}

export const hexOf = (digest: string): string => digest.slice('sha256:'.length);
