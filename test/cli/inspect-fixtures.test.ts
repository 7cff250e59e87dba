import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { fixtures, skopeoAvailable, skopeoExpectations } from '../support/fixtures.js';

/** Run `tarpush inspect <fixture> --json` in-process and parse what it printed. */
async function inspectJson(args: string[]): Promise<{ images: Array<{ carried?: false; platform?: { architecture: string }; config: { digest: string }; layers: Array<{ diffId: string }> }> }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c) => (out += c));
  const code = await main(['inspect', ...args, '--json'], { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} });
  assert.equal(code, 0);
  return JSON.parse(out);
}

// The acceptance check: for every committed fixture, `tarpush inspect` and
// `skopeo inspect` agree on the config digest and the layer diff_ids of every image.
for (const f of fixtures) {
  test(`tarpush inspect agrees with skopeo on ${f.name}`, async (t) => {
    if (!(await skopeoAvailable())) return t.skip('skopeo is not installed');
    // Index entries the archive does not carry (a partial save) are listed too; skopeo sees only the carried ones.
    const ours = { images: (await inspectJson([f.path])).images.filter((i) => i.carried !== false) };
    const wanted: Array<{ transport?: string; arch?: string; variant?: string }> =
      f.images > 1
        ? f.names.map((n) => ({ transport: `docker-archive:${f.path}:${n}` }))
        : f.platforms
          ? f.platforms
          : [{}];
    assert.equal(ours.images.length, wanted.length);
    for (const [i, w] of wanted.entries()) {
      const theirs = await skopeoExpectations(f, w);
      const mine = ours.images[i]!;
      if (w.arch) assert.equal(mine.platform?.architecture, w.arch);
      assert.equal(mine.config.digest, theirs.configDigest, `${f.name} image ${i}: config digest`);
      assert.deepEqual(mine.layers.map((l) => l.diffId), theirs.diffIds, `${f.name} image ${i}: diff_ids`);
    }
  });
}
