import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Image } from '../../src/image/types.js';
import { publish } from '../../src/publish/publish.js';
import { clientFor } from '../../src/registry/index.js';
import { openRegistrySource } from '../../src/remote/registry-source.js';
import { startScriptedRegistry } from '../support/scripted-registry.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A Windows-style image whose base layer is foreign (listed by URL, not held by the
 * registry). distribution refuses to store such a manifest, so a scripted registry serves it.
 */
async function foreignImageRegistry() {
  const foreignDiff = sha(Buffer.from('foreign diff'));
  const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: sha(Buffer.from('foreign blob')), size: 1234, urls: ['https://example.invalid/base.tar.gz'] };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'windows', rootfs: { type: 'layers', diff_ids: [foreignDiff] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha(config), size: config.length },
      layers: [foreign],
    }),
  );
  const blobs = new Map([[sha(config), config]]);
  const reg = await startScriptedRegistry((req, res) => {
    if (req.path === '/v2/') return void res.writeHead(200).end('{}');
    if (req.path === '/v2/win/manifests/v1' || req.path === `/v2/win/manifests/${sha(manifest)}`) {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': sha(manifest), 'content-length': String(manifest.length) });
      return void res.end(req.method === 'HEAD' ? undefined : manifest);
    }
    const b = /^\/v2\/win\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.path);
    const bytes = b ? blobs.get(b[1]!) : undefined;
    if (bytes) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'docker-content-digest': b![1]!, 'content-length': String(bytes.length) });
      return void res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
  });
  return { reg, foreign };
}

test('a registry source declares a foreign layer as foreign: a copy keeps its descriptor (urls and all), as for archives', async (t) => {
  const { reg, foreign } = await foreignImageRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-foreign-src-'));
  t.after(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const image = (await openRegistrySource(clientFor(reg.host, { retries: 0 }).repository('win'), 'v1')) as Image;
  assert.equal(image.layers[0]!.foreign, true);
  assert.equal(image.layers[0]!.absent, true);

  const [r] = await publish({ source: `${reg.host}/win:v1`, anySource: true, destinations: [`oci:${dir}:v1`], cache: false, client: { retries: 0 } });
  // The layout keeps OCI manifests: the descriptor is converted, never dropped or uploaded.
  const stored = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', r!.digest.slice(7)), 'utf8')) as { layers: Array<{ mediaType: string; digest: string; size: number; urls?: string[] }> };
  assert.deepEqual(stored.layers[0], { ...foreign, mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' });
  assert.ok(!reg.requests.some((q) => q.path.includes(foreign.digest)), 'the foreign layer is never fetched');
});
