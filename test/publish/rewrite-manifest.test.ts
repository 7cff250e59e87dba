import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertMediaType, rewriteIndex, rewriteManifest } from '../../src/publish/rewrite-manifest.js';
import { MediaType } from '../../src/image/media-types.js';
import type { Descriptor } from '../../src/image/types.js';

const d = (c: string): `sha256:${string}` => `sha256:${c.repeat(64)}`;
const config: Descriptor = { mediaType: MediaType.dockerConfig, digest: d('c'), size: 100 };
const layer: Descriptor = { mediaType: MediaType.dockerLayerGzip, digest: d('1'), size: 10 };
const kaniko = Buffer.from(
  `{"schemaVersion":2,"mediaType":"${MediaType.dockerManifest}","config":{"mediaType":"${MediaType.dockerConfig}","size":100,"digest":"${d('c')}"},"layers":[{"mediaType":"${MediaType.dockerLayerGzip}","size":10,"digest":"${d('1')}"}]}`,
);

test('an unchanged manifest keeps its exact bytes (and so its digest)', () => {
  assert.equal(rewriteManifest(kaniko, { config, layers: [layer] }), kaniko);
  const pretty = Buffer.from(JSON.stringify(JSON.parse(kaniko.toString()), null, 2));
  assert.equal(rewriteManifest(pretty, { config, layers: [layer] }), pretty);
});

test('replaced layers are patched in place, keeping key order and other fields', () => {
  const oci = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 100 },
      layers: [{ mediaType: MediaType.ociLayer, digest: d('2'), size: 50, annotations: { a: 'b' } }],
      annotations: { 'org.opencontainers.image.created': 'x' },
    }),
  );
  const out = JSON.parse(
    rewriteManifest(oci, {
      config: { ...config, mediaType: MediaType.ociConfig },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('3'), size: 20 }],
    }).toString(),
  );
  assert.deepEqual(Object.keys(out), ['schemaVersion', 'mediaType', 'config', 'layers', 'annotations']);
  assert.deepEqual(out.layers[0], { mediaType: MediaType.ociLayerGzip, digest: d('3'), size: 20, annotations: { a: 'b' } });
  assert.equal(out.annotations['org.opencontainers.image.created'], 'x');
});

test('--format oci converts docker media types and --format docker converts back', () => {
  const oci = JSON.parse(rewriteManifest(kaniko, { format: 'oci', config, layers: [layer] }).toString());
  assert.equal(oci.mediaType, MediaType.ociManifest);
  assert.equal(oci.config.mediaType, MediaType.ociConfig);
  assert.equal(oci.layers[0].mediaType, MediaType.ociLayerGzip);
  const back = rewriteManifest(Buffer.from(JSON.stringify(oci)), { format: 'docker', config, layers: [layer] });
  assert.equal(back.toString(), kaniko.toString());
  assert.equal(convertMediaType(MediaType.ociLayerZstd, 'docker'), MediaType.ociLayerZstd);
});

test('an index drops filtered children and patches re-encoded ones', () => {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.ociManifest, digest: d('b'), size: 2, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }),
  );
  const same = rewriteIndex(index, {
    children: [
      { mediaType: MediaType.ociManifest, digest: d('a'), size: 1 },
      { mediaType: MediaType.ociManifest, digest: d('b'), size: 2 },
    ],
  });
  assert.equal(same, index);
  const out = JSON.parse(rewriteIndex(index, { children: [undefined, { mediaType: MediaType.ociManifest, digest: d('e'), size: 9 }] }).toString());
  assert.equal(out.manifests.length, 1);
  assert.deepEqual(out.manifests[0], { mediaType: MediaType.ociManifest, digest: d('e'), size: 9, platform: { os: 'linux', architecture: 'arm64' } });
});
