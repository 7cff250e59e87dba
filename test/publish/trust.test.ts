import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publish } from '../../src/publish/publish.js';
import type { ClientOptions } from '../../src/registry/index.js';
import { isTarpushError } from '../../src/errors.js';
import type { TagOutcome } from '../../src/publish/write-tags.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { expected, fixture, registryTags, sha256hex, tempDir } from './support.js';

/** The publisher's promise: this image, to these places, under these tags — or nothing, said clearly. */
let reg: RegistryHandle;
let proxy: FaultProxyHandle;
before(async () => {
  reg = await startRegistry({ mode: 'anonymous' });
  proxy = await startFaultProxy({ url: reg.url });
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const client: ClientOptions = { retries: 2, retryBaseMs: 5, maxRetryWaitMs: 50 };

test('--all: a blob of the second image that cannot be uploaded leaves no tag of the first image either', async () => {
  const second = expected['multi-image.tar']!.images[1]!.configDigest.slice('sha256:'.length);
  proxy.setRules([{ kind: 'status', status: 500, match: { path: new RegExp(second) } }]);
  try {
    await assert.rejects(
      publish({ source: fixture('multi-image.tar'), all: true, destinations: [`${proxy.host}/trust/all`], cache: false, client }),
      (e: unknown) => isTarpushError(e) && e.exitCode === 1,
    );
  } finally {
    proxy.setRules([]);
  }
  assert.deepEqual(await registryTags(reg.url, 'trust/all'), []);
});

test('a tag that cannot be written: exit 1, and the error says which tags are live and which are not', async () => {
  proxy.setRules([{ kind: 'status', status: 502, match: { method: 'PUT', path: /\/manifests\/t2$/ } }]);
  let err: unknown;
  try {
    await publish({ source: fixture('kaniko.tar'), destinations: [`${proxy.host}/trust/tags:v1`], tags: ['t2', 't3'], cache: false, client });
  } catch (e) {
    err = e;
  } finally {
    proxy.setRules([]);
  }
  assert.ok(isTarpushError(err, 'TAGS_INCOMPLETE'), String(err));
  assert.equal(err.exitCode, 1);
  assert.match(err.message, /1 of 3 tags not written \(.*trust\/tags:t2\); live: .*:v1, .*:t3/);
  const outcomes = err.details.tags as TagOutcome[];
  assert.deepEqual(outcomes.map((o) => [o.tag, o.live]), [['v1', true], ['t2', false], ['t3', true]]);
  assert.deepEqual((await registryTags(reg.url, 'trust/tags')).sort(), ['t3', 'v1']);
});

test('each destination reports the digest it holds: a registry keeps the kaniko digest, an OCI layout holds an OCI manifest', async (t) => {
  const dir = await tempDir(t);
  const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${reg.host}/trust/digests:v1`, `oci:${join(dir, 'lay')}:v1`], cache: false });
  const [registry, layout] = r!.destinations;
  assert.equal(registry!.digest, expected['kaniko.tar']!.images[0]!.manifestDigest);
  assert.equal(registry!.reference, `${reg.host}/trust/digests@${registry!.digest}`);
  assert.notEqual(layout!.digest, registry!.digest);
  assert.equal(layout!.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const index = JSON.parse(await readFile(join(dir, 'lay', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.deepEqual(index.manifests.map((m) => m.digest), [layout!.digest]);
  const raw = await readFile(join(dir, 'lay', 'blobs', 'sha256', layout!.digest.slice(7)));
  assert.equal(sha256hex(raw), layout!.digest);
  assert.deepEqual(r!.references, [`${reg.host}/trust/digests:v1`, registry!.reference, `oci:${join(dir, 'lay')}:v1`, layout!.reference]);
});

test('the same repository named twice is one place: blobs go once, both tags are written', async () => {
  const [r] = await publish({ source: fixture('oci-archive.tar'), destinations: [`${reg.host}/trust/twice:a`, `${reg.host}/trust/twice:b`], cache: false });
  assert.deepEqual((await registryTags(reg.url, 'trust/twice')).sort(), ['a', 'b']);
  const uploads = r!.blobs.filter((b) => b.action === 'uploaded').map((b) => b.digest);
  assert.equal(new Set(uploads).size, uploads.length);
});
