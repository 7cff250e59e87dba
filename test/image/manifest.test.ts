import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../src/image/digest.js';
import { buildIndex, buildManifest, goString, parseIndex, parseManifest } from '../../src/image/manifest.js';
import { parseConfig } from '../../src/image/config.js';
import { tarpushError } from '../archive/support/assert-error.js';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;

describe('buildManifest', () => {
  it('writes Docker schema 2 in go-containerregistry field order, compact', () => {
    const raw = buildManifest({
      format: 'docker',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1469, digest: d('a') },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 2811478, digest: d('b') },
        {
          // Descriptor fields in any order in, Go order out; map keys sorted.
          annotations: { 'org.b': '2', 'org.a': '1' },
          urls: ['https://x/y'],
          digest: d('c'),
          size: 5,
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        },
      ],
    });
    assert.equal(
      raw.toString(),
      `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"${d('a')}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2811478,"digest":"${d('b')}"},{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","size":5,"digest":"${d('c')}","urls":["https://x/y"],"annotations":{"org.a":"1","org.b":"2"}}]}`,
    );
  });

  it('writes OCI manifests with annotations and subject last, and indexes with platforms', () => {
    const raw = buildManifest({
      format: 'oci',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: d('a') },
      layers: [],
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 3, digest: d('f') },
    });
    assert.equal(
      raw.toString(),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"${d('a')}"},"layers":[],"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"},"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":3,"digest":"${d('f')}"}}`,
    );
    const idx = buildIndex({
      format: 'oci',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 7, digest: d('1'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }],
    });
    assert.equal(
      idx.toString(),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"${d('1')}","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}`,
    );
  });

  it('escapes strings as Go does (HTML-safe)', () => {
    assert.equal(goString('a<b>&c\u2028\u2029"\\\n'), '"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\"\\\\\\n"');
  });
});

describe('parseManifest / parseIndex', () => {
  const good = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: d('a') }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', size: 1, digest: d('b'), urls: ['u'] }] };

  it('parses a valid manifest', () => {
    const m = parseManifest(JSON.stringify(good), 'x.tar!m');
    assert.equal(m.config.digest, d('a'));
    assert.deepEqual(m.layers[0]!.urls, ['u']);
  });

  it('names the document and field on wrong shapes', () => {
    const bad = (o: unknown) => JSON.stringify(o);
    assert.throws(() => parseManifest('{', 'x.tar!m'), tarpushError('MANIFEST_INVALID', /x\.tar!m: manifest is not valid JSON/));
    assert.throws(() => parseManifest(bad({ ...good, schemaVersion: 1 }), 'w'), tarpushError('MANIFEST_INVALID', /schemaVersion must be 2/));
    assert.throws(() => parseManifest(bad({ ...good, layers: [{ ...good.layers[0], size: -1 }] }), 'w'), tarpushError('MANIFEST_INVALID', /layers\[0\]\.size/));
    assert.throws(() => parseManifest(bad({ ...good, layers: [{ ...good.layers[0], size: '5' }] }), 'w'), tarpushError('MANIFEST_INVALID', /layers\[0\]\.size/));
    assert.throws(() => parseManifest(bad({ ...good, config: { ...good.config, digest: 'sha256:ABC' } }), 'w'), tarpushError('MANIFEST_INVALID', /config\.digest/));
    assert.throws(() => parseManifest(bad({ ...good, config: { ...good.config, mediaType: 5 } }), 'w'), tarpushError('MANIFEST_INVALID', /config\.mediaType must be a string/));
    assert.throws(() => parseManifest(bad({ schemaVersion: 2, manifests: [] }), 'w'), tarpushError('MANIFEST_INVALID', /is an index/));
    assert.throws(() => parseIndex(bad({ schemaVersion: 2, manifests: {} }), 'w'), tarpushError('MANIFEST_INVALID', /manifests must be an array/));
    assert.throws(() => parseIndex(bad({ schemaVersion: 2, manifests: [{ ...good.config, platform: { os: 'linux' } }] }), 'w'), tarpushError('MANIFEST_INVALID', /manifests\[0\]\.platform\.architecture/));
  });
});

describe('parseConfig', () => {
  it('reads diff_ids and platform', () => {
    const c = parseConfig(JSON.stringify({ architecture: 'arm', os: 'linux', variant: 'v7', rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] } }), 'c');
    assert.deepEqual(c, { diffIds: [d('1'), d('2')], platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    assert.deepEqual(parseConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: null } }), 'c'), { diffIds: [] });
  });

  it('CONFIG_INVALID names the field', () => {
    assert.throws(() => parseConfig('[]', 'img.tar!cfg'), tarpushError('CONFIG_INVALID', /img\.tar!cfg: must be an object/));
    assert.throws(() => parseConfig('{}', 'c'), tarpushError('CONFIG_INVALID', /field rootfs must be an object/));
    assert.throws(() => parseConfig(JSON.stringify({ rootfs: { type: 'x', diff_ids: [] } }), 'c'), tarpushError('CONFIG_INVALID', /rootfs\.type/));
    assert.throws(() => parseConfig(JSON.stringify({ os: 1, rootfs: { diff_ids: [] } }), 'c'), tarpushError('CONFIG_INVALID', /field os must be a string/));
  });
});
