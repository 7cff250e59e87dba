import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findCredential } from '../../../src/registry/credentials/index.js';
import { loginFile, removeCredential, saveCredential } from '../../../src/registry/credentials/save-credential.js';
import { makeSandbox } from './sandbox.js';

/** What login writes is what findCredential (and docker) read back; nothing else in the file moves. */
describe('saveCredential / removeCredential', () => {
  it('writes $DOCKER_CONFIG/config.json when set, else ~/.docker/config.json, or --authfile; findCredential reads it back', async (t) => {
    const sb = await makeSandbox();
    t.after(() => sb.cleanup());
    const env = { ...sb.env, DOCKER_CONFIG: join(sb.root, 'dc') };
    assert.equal(loginFile({ env, homeDir: sb.home }), join(sb.root, 'dc', 'config.json'));
    assert.equal(loginFile({ env: sb.env, homeDir: sb.home }), join(sb.home, '.docker', 'config.json'));
    const saved = await saveCredential('reg.example:5000', { username: 'u', password: 'p-SECRET-1' }, { env });
    assert.equal(saved.file, join(sb.root, 'dc', 'config.json'));
    assert.equal((await stat(saved.file)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(sb.root, 'dc')), ['config.json'], 'no temp file left');
    const c = await findCredential('reg.example:5000', sb.opts({ env }));
    assert.deepEqual(c, { kind: 'basic', username: 'u', password: 'p-SECRET-1', source: saved.file });
    const own = join(sb.root, 'own.json');
    await saveCredential('docker.io', { username: 'hub', password: 'p-SECRET-2' }, { authfile: own, env });
    const json = JSON.parse(await readFile(own, 'utf8'));
    assert.deepEqual(Object.keys(json.auths), ['https://index.docker.io/v1/'], 'Docker Hub under the key docker login uses');
    const hub = await findCredential('registry-1.docker.io', sb.opts({ env, authfile: own }));
    assert.equal(hub?.kind === 'basic' ? hub.username : undefined, 'hub');
    assert.deepEqual(await removeCredential('index.docker.io', { authfile: own, env }), { file: own, removed: true });
    assert.deepEqual(JSON.parse(await readFile(own, 'utf8')).auths, {});
    assert.deepEqual(await removeCredential('index.docker.io', { authfile: own, env }), { file: own, removed: false });
  });

  it('refuses a file that is not valid JSON and leaves it as it was', async (t) => {
    const sb = await makeSandbox();
    t.after(() => sb.cleanup());
    const file = join(sb.root, 'broken.json');
    await writeFile(file, '{"auths": {"x": {"auth": "c2VjcmV0"}');
    await assert.rejects(saveCredential('reg.example', { username: 'u', password: 'p' }, { authfile: file, env: sb.env }), /credentials file .*broken\.json: is not valid JSON/);
    assert.equal(await readFile(file, 'utf8'), '{"auths": {"x": {"auth": "c2VjcmV0"}');
  });

  it('a credsStore that is not installed: nothing saved, and the message says so', async (t) => {
    const sb = await makeSandbox();
    t.after(() => sb.cleanup());
    const file = await sb.write('cfg.json', { credsStore: 'absent' });
    await assert.rejects(saveCredential('reg.example', { username: 'u', password: 'p-SECRET-3' }, { authfile: file, env: sb.env }), (e: Error) => {
      assert.match(e.message, /credential helper docker-credential-absent is not installed \(the config names it\): nothing was saved/);
      assert.ok(!e.message.includes('p-SECRET-3'));
      return true;
    });
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { credsStore: 'absent' });
  });
});
