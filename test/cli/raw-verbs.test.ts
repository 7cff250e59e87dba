import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/image/digest.js';
import { emptyHome, seeded, seedRegistry, skopeoConfig, skopeoRaw } from '../remote/support.js';
import { repoRoot } from '../support/fixtures.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/**
 * `tarpush manifest`, `config` and `blob` as a user runs them (the real CLI in a child
 * process) against a real registry seeded by skopeo, compared with skopeo's raw views.
 */

const bin = join(repoRoot, 'bin/tarpush.js');

interface BinaryRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The CLI with stdout kept as bytes (tarpushCli decodes it as text, which a gzip layer is not). */
function tarpushBytes(args: string[], env: NodeJS.ProcessEnv): Promise<BinaryRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr });
    });
  });
}

describe('raw verbs', () => {
  let reg: RegistryHandle;
  let proxy: FaultProxyHandle;
  let home: { dir: string; remove(): Promise<void> };
  let env: NodeJS.ProcessEnv;
  const at = (ref: string): string => `${reg.host}/${ref}`;

  before(async () => {
    reg = await startRegistry();
    await seedRegistry(reg);
    proxy = await startFaultProxy({ url: reg.url });
    home = await emptyHome();
    env = { HOME: home.dir, TARPUSH_PASSWORD: '' };
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    await home?.remove();
  });

  it('manifest prints the stored bytes, as skopeo inspect --raw does, for an image and an index', async () => {
    for (const ref of [seeded.oci, seeded.docker, seeded.multi]) {
      const r = await tarpushCli(['manifest', at(ref)], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, await skopeoRaw(reg, ref), ref);
      assert.equal(r.stderr, '');
    }
  });

  it('manifest --platform prints the child of the index for that platform', async () => {
    const index = JSON.parse(await skopeoRaw(reg, seeded.multi)) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    const arm = index.manifests.find((m) => m.platform.architecture === 'arm64')!;
    const r = await tarpushCli(['manifest', at(seeded.multi), '--platform', 'linux/arm64'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(r.stdout), arm.digest);
    assert.equal(r.stdout, await skopeoRaw(reg, `fx/multi@${arm.digest}`));
    const none = await tarpushCli(['manifest', at(seeded.multi), '--platform', 'linux/s390x'], { env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /IMAGE_NOT_FOUND: .*linux\/s390x/);
  });

  it('config prints the config blob, as skopeo inspect --config --raw does', async () => {
    const r = await tarpushCli(['config', at(seeded.oci)], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, await skopeoConfig(reg, seeded.oci));
    const arm = await tarpushCli(['config', at(seeded.multi), '--platform', 'linux/arm64/v8'], { env });
    assert.equal(arm.code, 0, arm.stderr);
    assert.equal(arm.stdout, await skopeoConfig(reg, seeded.multi, { arch: 'arm64', variant: 'v8' }));
    assert.equal((JSON.parse(arm.stdout) as { architecture: string }).architecture, 'arm64');
  });

  it('config of an index without --platform says which platforms there are', async () => {
    const r = await tarpushCli(['config', at(seeded.multi)], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /IMAGE_AMBIGUOUS: .*multi-platform index \(linux\/amd64, linux\/arm64\/v8\): choose one with --platform/);
  });

  it('blob streams a layer whose bytes hash to its digest', async () => {
    const manifest = JSON.parse(await skopeoRaw(reg, seeded.oci)) as { layers: Array<{ digest: string; size: number }> };
    for (const layer of manifest.layers) {
      const r = await tarpushBytes(['blob', at(`fx/demo@${layer.digest}`)], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, layer.size);
      assert.equal(sha256(r.stdout), layer.digest);
    }
  });

  it('blob: bytes that are not the digest are written, then an error line and exit 1', async () => {
    const manifest = JSON.parse(await skopeoRaw(reg, seeded.oci)) as { layers: Array<{ digest: string; size: number }> };
    const layer = manifest.layers[0]!;
    const wrong = 'y'.repeat(layer.size);
    proxy.setRules([{ kind: 'status', status: 200, body: wrong, match: { method: 'GET', path: new RegExp(`/blobs/${layer.digest}$`) } }]);
    try {
      const r = await tarpushBytes(['blob', `${proxy.host}/fx/demo@${layer.digest}`], env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout.toString(), wrong, 'the bytes came first');
      assert.match(r.stderr, new RegExp(`^tarpush: REGISTRY_DIGEST_MISMATCH: blob .*${layer.digest}.*\\n$`));
    } finally {
      proxy.setRules([]);
    }
  });

  it('blob needs a digest, and a missing one is NOT_FOUND', async () => {
    const tagged = await tarpushCli(['blob', at('fx/demo:v1')], { env });
    assert.equal(tagged.code, 2);
    assert.match(tagged.stderr, /USAGE: .*name the blob by digest/);
    const missing = await tarpushCli(['blob', at(`fx/demo@sha256:${'0'.repeat(64)}`)], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: blob .* not found/);
  });
});
