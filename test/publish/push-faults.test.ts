import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { publish } from '../../src/publish/publish.js';
import type { ClientOptions } from '../../src/registry/index.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle, type FaultRule } from '../support/proxy.js';
import { expected, fixture, registryTags, skopeoView } from './support.js';

/** Registry quirks and transient faults, emulated by the proxy in front of the real registry. */
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

// Fast retries so the suite stays quick; the retry policy itself is tested in test/registry.
const client: ClientOptions = { retries: 4, retryBaseMs: 5, maxRetryWaitMs: 1500 };
const upload = /\/blobs\/uploads\//;

const survivable: Array<{ name: string; rules: FaultRule[]; file?: string }> = [
  { name: 'a connection reset in the middle of a blob upload', rules: [{ kind: 'reset-after', bytes: 200, match: { method: 'PUT', path: upload }, times: 1 }] },
  { name: 'a reset in the middle of a streamed (compressing) PATCH', file: 'docker-archive.tar', rules: [{ kind: 'reset-after', bytes: 300, match: { method: 'PATCH', path: upload }, times: 1 }] },
  { name: '503 twice on blob uploads', rules: [{ kind: 'status', status: 503, match: { path: upload }, times: 2 }] },
  { name: '502 on the manifest PUT', rules: [{ kind: 'status', status: 502, match: { method: 'PUT', path: /\/manifests\// }, times: 1 }] },
  { name: '500 on a blob HEAD', rules: [{ kind: 'status', status: 500, match: { method: 'HEAD', path: /\/blobs\/sha256/ }, times: 1 }] },
  { name: '429 with Retry-After', rules: [{ kind: 'status', status: 429, body: 'Too Many Requests', headers: { 'Retry-After': '1' }, match: { path: upload }, times: 1 }] },
  { name: 'Docker Hub answering 202 where 201 is due', rules: [{ kind: 'accepted-not-created' }] },
  { name: 'a registry that ignores single-POST bodies', rules: [{ kind: 'no-single-post' }] },
  { name: 'a registry that completes single-POST uploads', rules: [{ kind: 'single-post' }] },
  { name: 'a registry without chunked uploads (GCR)', file: 'docker-archive.tar', rules: [{ kind: 'no-chunked' }] },
  { name: 'a 5 MiB minimum chunk (ECR)', file: 'docker-archive.tar', rules: [{ kind: 'min-chunk', bytes: 5 * 1024 * 1024 }] },
  { name: 'slow answers', rules: [{ kind: 'delay', ms: 50, match: { method: 'HEAD' } }] },
];

for (const [i, c] of survivable.entries()) {
  test(`push survives ${c.name}`, async () => {
    proxy.setRules(c.rules);
    const file = c.file ?? 'kaniko.tar';
    const repo = `faults/case${i}`;
    try {
      const [r] = await publish({ source: fixture(file), destinations: [`${proxy.host}/${repo}:v1`], tags: ['t2'], cache: false, client });
      proxy.setRules([]);
      const seen = await skopeoView(`${reg.host}/${repo}:t2`);
      assert.equal(seen.manifestDigest, r!.digest);
      assert.deepEqual(seen.diffIds, expected[file]!.images[0]!.diffIds);
    } finally {
      proxy.setRules([]);
    }
  });
}

test('a fault that never clears fails the push and leaves no tag', async () => {
  proxy.setRules([{ kind: 'status', status: 503, match: { method: 'PUT', path: upload } }, { kind: 'status', status: 503, match: { method: 'PATCH', path: upload } }]);
  try {
    await assert.rejects(
      publish({ source: fixture('kaniko.tar'), destinations: [`${proxy.host}/faults/never:v1`], tags: ['t2'], cache: false, client }),
      (e: unknown) => isTarpushError(e) && e.exitCode === 1,
    );
  } finally {
    proxy.setRules([]);
  }
  assert.deepEqual(await registryTags(reg.url, 'faults/never'), []);
});
