import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixture } from '../publish/support.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/** inspect says which digest is the archive's and which one push gives a registry, and --platform selects. */
describe('inspect of archives: the pushed digest and --platform', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'anonymous' });
  });
  after(() => reg.stop());

  for (const format of ['keep', 'oci'] as const) {
    test(`docker save: inspect --format ${format} prints the digest push --format ${format} gives the registry`, async () => {
      const ins = await tarpushCli(['inspect', fixture('docker-archive.tar'), '--format', format, '--json'], { env: { TARPUSH_NO_CACHE: '1' } });
      assert.equal(ins.code, 0, ins.stderr);
      const json = JSON.parse(ins.stdout) as { images: Array<{ digest: string }>; pushed: Array<{ digest: string; format: string; position: number }> };
      const push = await tarpushCli(['push', fixture('docker-archive.tar'), `${reg.host}/ins/${format}:v1`, '--format', format, '--json', '--no-cache'], { env: { TARPUSH_NO_CACHE: '1' } });
      assert.equal(push.code, 0, push.stderr);
      const pushed = JSON.parse(push.stdout) as { digest: string };
      assert.deepEqual(json.pushed, [{ format, digest: pushed.digest, mediaType: json.pushed[0]!.format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json', position: 0 }]);
      assert.notEqual(json.images[0]!.digest, pushed.digest, 'the archive digest is not the pushed one (plain layers)');
      const human = await tarpushCli(['inspect', fixture('docker-archive.tar'), '--format', format], { env: { TARPUSH_NO_CACHE: '1' } });
      assert.match(human.stdout, /manifest: sha256:[0-9a-f]{64} \(application\/vnd\.docker\.distribution\.manifest\.v2\+json; as the archive has it: push compresses its 3 plain layers, see inspect --format keep\)/);
      assert.ok(human.stdout.includes(`  pushed:   ${pushed.digest} (`), human.stdout);
      assert.match(human.stdout, new RegExp(`what push --format ${format} gives a registry\\)`));
    });
  }

  test('--platform selects the images of an archive; none of that platform is IMAGE_NOT_FOUND', async () => {
    const arm = await tarpushCli(['inspect', fixture('multi-platform.tar'), '--platform', 'linux/arm64', '--json']);
    assert.equal(arm.code, 0, arm.stderr);
    const images = (JSON.parse(arm.stdout) as { images: Array<{ platform: { architecture: string } }> }).images;
    assert.deepEqual(images.map((i) => i.platform.architecture), ['arm64']);
    const all = JSON.parse((await tarpushCli(['inspect', fixture('multi-platform.tar'), '--json'])).stdout) as { images: unknown[] };
    assert.ok(all.images.length > 1);
    const none = await tarpushCli(['inspect', fixture('multi-platform.tar'), '--platform', 'linux/s390x']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^tarpush: IMAGE_NOT_FOUND: --platform linux\/s390x: no image of .* is for that platform\n$/);
  });
});
