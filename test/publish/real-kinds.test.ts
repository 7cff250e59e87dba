import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { publish } from '../../src/publish/publish.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { run } from '../support/exec.js';
import { fixture, registryTags, sha256hex, tempDir } from './support.js';

/** What real tools write today, published: partial saves, artifacts and referrers, attestations, foreign layers. */
let reg: RegistryHandle;
before(async () => {
  reg = await startRegistry({ mode: 'anonymous' });
});
after(async () => reg?.stop());

const raw = async (ref: string) => (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout;
const skopeoCopyAll = async (ref: string, dir: string) => run('skopeo', ['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);

test('a Docker 29 partial save publishes what it carries: the one carried image itself, digest kept, and says so', async (t) => {
  const dir = await tempDir(t);
  const notes: string[] = [];
  const [r] = await publish({ source: fixture('docker29-partial.tar'), destinations: [`${reg.host}/kinds/partial:v1`], cache: false, onEvent: (e) => void (e.type === 'note' && notes.push(e.message)) });
  assert.equal(r!.digest, 'sha256:44b62fae95f57d4f75bd632e20ba7499c45afe70c6e7cea4defae50882128713');
  assert.ok(notes.some((n) => /carries only linux\/amd64; publishing that manifest .* itself/.test(n)), notes.join('\n'));
  assert.equal(sha256hex(Buffer.from(await raw(`${reg.host}/kinds/partial:v1`))), r!.digest);
  await skopeoCopyAll(`${reg.host}/kinds/partial:v1`, join(dir, 'c'));
  // A platform the archive lists but does not carry is an error naming what it does carry.
  await assert.rejects(
    publish({ source: fixture('docker29-partial.tar'), destinations: [`${reg.host}/kinds/partial:arm`], platforms: ['linux/arm64'], cache: false }),
    (e: unknown) => isTarpushError(e, 'IMAGE_NOT_FOUND') && /does not carry it \(it carries .*linux\/amd64/.test(e.message),
  );
});

test('buildx output with attestations: the index and its attestation manifests pushed byte for byte', async (t) => {
  const dir = await tempDir(t);
  const [r] = await publish({ source: fixture('buildx-oci-attest.tar'), destinations: [`${reg.host}/kinds/attest:v1`], cache: false });
  assert.equal(r!.digest, 'sha256:3052ed1acf54776484e7debca42fcb9d8188fa322ac545ed65f052844c103307');
  const index = JSON.parse(await raw(`${reg.host}/kinds/attest:v1`)) as { manifests: Array<{ annotations?: Record<string, string> }> };
  assert.ok(index.manifests.some((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'));
  await skopeoCopyAll(`${reg.host}/kinds/attest:v1`, join(dir, 'c'));
});

test('push --all of a layout with an image, an SBOM and a signature: artifacts byte for byte, referrers in the fallback tag', async () => {
  const results = await publish({ source: fixture('oci-artifacts'), all: true, destinations: [`${reg.host}/kinds/art`], cache: false });
  const image = results.find((x) => x.image.refName === 'v1')!;
  const referrers = JSON.parse(await raw(`${reg.host}/kinds/art:${image.digest.replace(':', '-')}`)) as { manifests: Array<{ digest: string; artifactType?: string }> };
  const others = results.filter((x) => x !== image).map((x) => x.digest).sort();
  assert.deepEqual(referrers.manifests.map((m) => m.digest).sort(), others);
  assert.ok(referrers.manifests.every((m) => typeof m.artifactType === 'string'));
  for (const x of results) assert.equal(sha256hex(Buffer.from(await raw(`${reg.host}/kinds/art@${x.digest}`))), x.digest, 'byte for byte');
  // Pushing again adds no duplicate.
  await publish({ source: fixture('oci-artifacts'), all: true, destinations: [`${reg.host}/kinds/art`], cache: false });
  const again = JSON.parse(await raw(`${reg.host}/kinds/art:${image.digest.replace(':', '-')}`)) as { manifests: unknown[] };
  assert.equal(again.manifests.length, others.length);
});

test('a layout of artifacts only: each pushed unchanged (no layer gzipped, no digest changed)', async () => {
  const results = await publish({ source: fixture('oci-artifacts-only'), all: true, destinations: [`${reg.host}/kinds/only`], cache: false });
  assert.ok(results.length >= 1);
  for (const x of results) {
    assert.ok(x.blobs.every((b) => b.action === 'uploaded' || b.action === 'exists'));
    assert.equal(sha256hex(Buffer.from(await raw(`${reg.host}/kinds/only@${x.digest}`))), x.digest);
  }
  const m = JSON.parse(await raw(`${reg.host}/kinds/only:sbom`)) as { layers: Array<{ mediaType: string }> };
  assert.ok(m.layers.every((l) => !l.mediaType.includes('tar+gzip')), 'the artifact layer keeps its media type');
});

test('a foreign layer is not uploaded; distribution refuses such a manifest with a line naming the layer and the way out', async () => {
  await assert.rejects(
    publish({ source: fixture('windows-foreign.tar'), destinations: [`${reg.host}/kinds/win:v1`], cache: false, client: { retries: 0 } }),
    (e: unknown) => isTarpushError(e) && /foreign layer sha256:[0-9a-f]{64} \(urls https:/.test(e.message) && /--allow-nondistributable-artifacts/.test(e.message),
  );
  assert.deepEqual(await registryTags(reg.url, 'kinds/win'), []);
  const notes: string[] = [];
  const [r] = await publish({ source: fixture('windows-foreign.tar'), destinations: [`${reg.host}/kinds/win:v1`], allowNondistributable: true, cache: false, onEvent: (e) => void (e.type === 'note' && notes.push(e.message)) });
  assert.ok(notes.some((n) => /uploaded as ordinary layers; the manifest is now sha256:/.test(n)), notes.join('\n'));
  const m = JSON.parse(await raw(`${reg.host}/kinds/win:v1`)) as { layers: Array<{ mediaType: string; urls?: string[] }> };
  assert.ok(m.layers.every((l) => !l.mediaType.includes('foreign') && !l.urls));
  assert.equal(sha256hex(Buffer.from(await raw(`${reg.host}/kinds/win:v1`))), r!.digest);
  // An absent foreign layer cannot be uploaded even when asked.
  await assert.rejects(
    publish({ source: fixture('windows-foreign-sparse.tar'), destinations: [`${reg.host}/kinds/win:sparse`], allowNondistributable: true, cache: false }),
    (e: unknown) => isTarpushError(e, 'ARCHIVE_ENTRY_MISSING') && /foreign layer/.test(e.message),
  );
});
