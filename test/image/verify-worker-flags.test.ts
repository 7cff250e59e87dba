import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('the diff_id worker runs even when the parent was started with --input-type=module -e', () => {
  // Workers inherit execArgv by default, and --input-type is refused for a worker file.
  const code = `
    const { openArchive } = await import(${JSON.stringify(`${root}dist/src/archive/index.js`)});
    const { verifyImage } = await import(${JSON.stringify(`${root}dist/src/image/verify.js`)});
    const a = await openArchive(${JSON.stringify(`${root}fixtures/kaniko.tar`)});
    await verifyImage(a.images[0].root);
    await a.close();
    console.log('verified');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'verified');
});
