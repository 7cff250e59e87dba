import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryMode } from './registry.js';
import { dockerRef, pushWithSkopeo, skopeo, skopeoAuthArgs, skopeoDestArgs, skopeoSrcArgs } from './skopeo.js';
import { makeTinyImage, type TinyImage } from './tiny-image.js';

let workDir: string;
let image: TinyImage;
before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-skopeo-test-'));
  image = await makeTinyImage(path.join(workDir, 'layout'), { tag: 'v1', seed: 'skopeo' });
});
after(() => rm(workDir, { recursive: true, force: true }));

for (const mode of ['anonymous', 'htpasswd-tls', 'token'] as RegistryMode[]) {
  test(`skopeo pushes a tiny image into the ${mode} registry and inspects it`, async () => {
    const reg = await startRegistry({ mode });
    try {
      await pushWithSkopeo(image.transport, reg, 'seed/app:v1');
      const { stdout } = await skopeo(['inspect', '--raw', ...skopeoAuthArgs(reg), dockerRef(reg, 'seed/app:v1')]);
      assert.equal(stdout, image.manifest.data.toString('utf8'), 'the OCI manifest arrives unchanged');
      const info = JSON.parse((await skopeo(['inspect', ...skopeoAuthArgs(reg, reg.users.reader), dockerRef(reg, `${reg.host}/seed/app:v1`)])).stdout) as {
        Digest: string;
        Labels: Record<string, string>;
      };
      assert.equal(info.Digest, image.manifest.digest);
      assert.equal(info.Labels.seed, 'skopeo');
      if (mode === 'token') {
        // the reader may pull but not push
        await assert.rejects(
          skopeo(['copy', '--quiet', ...skopeoDestArgs(reg, reg.users.reader), image.transport, dockerRef(reg, 'seed/other:v1')]),
          /denied|unauthorized|authentication required/i,
        );
      }
      // registry → OCI layout with the src flags
      await skopeo(['copy', '--quiet', ...skopeoSrcArgs(reg), dockerRef(reg, 'seed/app:v1'), `oci:${path.join(workDir, `back-${mode}`)}:v1`]);
    } finally {
      await reg.stop();
    }
  });
}

test('skopeo failures carry its stderr', async () => {
  await assert.rejects(skopeo(['inspect', 'docker://127.0.0.1:1/none:x', '--tls-verify=false']), /skopeo inspect failed, exit code 1: .+/);
});
