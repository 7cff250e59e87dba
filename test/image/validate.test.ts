import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../src/image/digest.js';
import { buildManifest } from '../../src/image/manifest.js';
import { bufferSource } from '../../src/image/sources.js';
import type { Image, Layer } from '../../src/image/types.js';
import { isForeignLayerMediaType, validateImage } from '../../src/image/validate.js';
import { tarpushError } from '../archive/support/assert-error.js';
import { makeConfig, sha } from '../archive/support/images.js';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;

function image(opts: { diffIds?: Digest[]; layers?: Partial<Layer>[]; configMediaType?: string; manifestMediaType?: string } = {}): Image {
  const diffIds = opts.diffIds ?? [d('1')];
  const rawConfig = makeConfig(diffIds);
  const config = { mediaType: opts.configMediaType ?? 'application/vnd.docker.container.image.v1+json', size: rawConfig.length, digest: sha(rawConfig) };
  const layers: Layer[] = (opts.layers ?? [{}]).map((l, i) => ({
    digest: d('a'),
    size: 10,
    mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    compression: 'gzip',
    diffId: diffIds[i] ?? d('9'),
    source: bufferSource(Buffer.alloc(10), 'mem'),
    ...l,
  }));
  const rawManifest = buildManifest({ format: 'docker', config, layers });
  return { kind: 'image', mediaType: opts.manifestMediaType ?? 'application/vnd.docker.distribution.manifest.v2+json', rawManifest, digest: sha(rawManifest), config, rawConfig, layers };
}

describe('validateImage', () => {
  it('accepts a consistent image', () => {
    validateImage(image(), 'x.tar!manifest.json[0]');
  });

  it('reports each structural problem with its code and location', () => {
    const w = 'x.tar!manifest.json[0]';
    assert.throws(() => validateImage(image({ layers: [] }), w), tarpushError('IMAGE_NO_LAYERS', /x\.tar!manifest\.json\[0\]/));
    assert.throws(() => validateImage(image({ diffIds: [d('1'), d('2')] }), w), tarpushError('LAYER_COUNT_MISMATCH', /1 layer\(s\).*lists 2/));
    assert.throws(() => validateImage(image({ layers: [{ mediaType: 'application/x-tar' }] }), w), tarpushError('MEDIA_TYPE_UNKNOWN', /layers\[0\]/));
    assert.throws(() => validateImage(image({ layers: [{ digest: 'sha256:nope' as Digest }] }), w), tarpushError('MANIFEST_INVALID', /layers\[0\] digest/));
    assert.throws(() => validateImage(image({ configMediaType: 'application/x-custom' }), w), tarpushError('MEDIA_TYPE_UNKNOWN', /not an image config/));
    assert.throws(() => validateImage(image({ manifestMediaType: 'application/json' }), w), tarpushError('MEDIA_TYPE_UNKNOWN', /manifest media type/));
    const tampered = { ...image(), rawConfig: makeConfig([d('7')]) };
    assert.throws(() => validateImage(tampered, w), tarpushError('DIGEST_MISMATCH', /config/));
    const wrongDiff = image();
    assert.throws(() => validateImage({ ...wrongDiff, layers: [{ ...wrongDiff.layers[0]!, diffId: d('5') }] }, w), tarpushError('DIFF_ID_MISMATCH'));
  });

  it('allows foreign layer types', () => {
    validateImage(image({ layers: [{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }] }), 'w');
    assert.equal(isForeignLayerMediaType('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'), true);
    assert.equal(isForeignLayerMediaType('application/vnd.oci.image.layer.v1.tar+gzip'), false);
  });
});
