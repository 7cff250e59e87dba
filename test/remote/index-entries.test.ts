import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { clientFor } from '../../src/registry/index.js';
import { fetchManifest } from '../../src/remote/fetch-manifest.js';
import { imageEntries } from '../../src/remote/index-entries.js';
import { startScriptedRegistry } from '../support/scripted-registry.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('a registry index DAG whose levels share children is walked once per digest (not 2^depth fetches)', async (t) => {
  // Level i lists two indexes of level i+1, both of which list the same two of level i+2 …
  const blobs = new Map<string, { raw: Buffer; mediaType: string }>();
  const put = (doc: unknown, mediaType: string) => {
    const raw = Buffer.from(JSON.stringify(doc));
    const d = sha(raw);
    blobs.set(d, { raw, mediaType });
    return { mediaType, digest: d, size: raw.length };
  };
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(Buffer.from('{}')), size: 2 };
  let level = [0, 1].map((i) => put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [], annotations: { n: String(i) } }, 'application/vnd.oci.image.manifest.v1+json'));
  level = level.map((d, i) => ({ ...d, platform: { os: 'linux', architecture: i ? 'arm64' : 'amd64' } }));
  const DEPTH = 24;
  for (let depth = 0; depth < DEPTH; depth++) {
    level = [0, 1].map((i) => put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: level, annotations: { d: `${depth}.${i}` } }, 'application/vnd.oci.image.index.v1+json'));
  }
  const top = level[0]!;
  const reg = await startScriptedRegistry((req, res) => {
    const m = /^\/v2\/dag\/manifests\/(.+)$/.exec(req.path);
    const b = m ? blobs.get(decodeURIComponent(m[1]!)) : undefined;
    if (req.path === '/v2/') return void res.writeHead(200).end('{}');
    if (!b) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    res.writeHead(200, { 'content-type': b.mediaType, 'docker-content-digest': sha(b.raw), 'content-length': String(b.raw.length) });
    res.end(req.method === 'HEAD' ? undefined : b.raw);
  });
  t.after(() => reg.stop());
  const repo = clientFor(reg.host, { retries: 0 }).repository('dag');
  const started = Date.now();
  const entries = await imageEntries(repo, await fetchManifest(repo, top.digest), `${reg.host}/dag`);
  assert.deepEqual(entries.map((e) => e.platform?.architecture), ['amd64', 'arm64']);
  const gets = reg.requests.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length;
  assert.ok(gets <= 2 * DEPTH + 1, `${gets} manifest GETs`);
  assert.ok(Date.now() - started < 5000);
});
