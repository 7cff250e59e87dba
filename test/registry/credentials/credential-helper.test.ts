import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { findCredential } from '../../../src/registry/credentials/index.js';
import { b64, makeSandbox, rejectsWithout, type Sandbox } from './sandbox.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('credential helpers: credHelpers', () => {
  it('asks docker-credential-<name> get with the host on stdin', async () => {
    await sb.helper('fake', { 'quay.io': { Username: 'helperuser', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'fake' } });
    assert.deepEqual(await findCredential('quay.io', sb.opts()), {
      kind: 'basic',
      username: 'helperuser',
      password: 'helper-SECRET-789',
      source: 'credential helper docker-credential-fake',
    });
    assert.deepEqual(await sb.calls('fake'), ['get quay.io']);
  });

  it('Docker Hub: the helper is asked for https://index.docker.io/v1/', async () => {
    await sb.helper('fake', { 'https://index.docker.io/v1/': { Username: 'hubuser', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'docker.io': 'fake' } });
    const c = await findCredential('registry-1.docker.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'hubuser');
    assert.deepEqual(await sb.calls('fake'), ['get https://index.docker.io/v1/']);
  });

  it('Username "<token>" means the secret is an identity token', async () => {
    await sb.helper('fake', { 'myacr.azurecr.io': { Username: '<token>', Secret: 'idtok-REFRESH-123' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'myacr.azurecr.io': 'fake' } });
    assert.deepEqual(await findCredential('myacr.azurecr.io', sb.opts()), {
      kind: 'refresh-token',
      token: 'idtok-REFRESH-123',
      source: 'credential helper docker-credential-fake',
    });
  });

  it('only the registry named in credHelpers uses that helper', async () => {
    await sb.helper('fake', { 'ghcr.io': { Username: 'u', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'fake' } });
    assert.equal(await findCredential('ghcr.io', sb.opts()), undefined);
    assert.deepEqual(await sb.calls('fake'), []);
  });

  it('credHelpers wins over credsStore and the inline entry', async () => {
    await sb.helper('specific', { 'quay.io': { Username: 'specificuser', Secret: 'helper-SECRET-789' } });
    await sb.helper('store', { 'quay.io': { Username: 'storeuser', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', {
      auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } },
      credHelpers: { 'quay.io': 'specific' },
      credsStore: 'store',
    });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'specificuser');
    assert.deepEqual(await sb.calls('store'), []);
  });

  it('"credentials not found" lets the search go on (inline entry, then later files)', async () => {
    await sb.helper('fake', {});
    await sb.write('home/.docker/config.json', {
      auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } },
      credHelpers: { 'quay.io': 'fake', 'ghcr.io': 'fake' },
    });
    const inline = await findCredential('quay.io', sb.opts());
    assert.equal(inline?.kind === 'basic' && inline.username, 'inlineuser');
    const podman = await sb.write('home/.config/containers/auth.json', { auths: { 'ghcr.io': { auth: b64('podmanuser:hunter2-PASS') } } });
    const later = await findCredential('ghcr.io', sb.opts());
    assert.equal(later?.source, podman);
    assert.equal((await sb.calls('fake')).length, 2);
  });

  it('an answer with an empty secret counts as not found', async () => {
    await sb.helper('fake', { 'quay.io': { Username: '', Secret: '' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'fake' } });
    assert.equal(await findCredential('quay.io', sb.opts()), undefined);
  });

  it('a helper that is not installed is skipped with a debug note', async () => {
    const notes: string[] = [];
    await sb.write('home/.docker/config.json', {
      auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } },
      credHelpers: { 'quay.io': 'not-installed' },
    });
    const c = await findCredential('quay.io', sb.opts({ debug: (m) => notes.push(m) }));
    assert.equal(c?.kind === 'basic' && c.username, 'inlineuser');
    assert.ok(notes.some((n) => n.includes('docker-credential-not-installed')), notes.join('\n'));
  });

  it('runs the helper without a shell: argv is exactly ["get"]', async () => {
    await sb.rawHelper(
      'argv',
      `process.stdout.write(JSON.stringify({ Username: JSON.stringify(process.argv.slice(2)), Secret: 'helper-SECRET-789' }));`,
    );
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'argv' } });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, '["get"]');
  });
});

describe('credential helpers: credsStore', () => {
  it('is asked for any registry, with the key docker login stored when there is one', async () => {
    await sb.helper('store', {
      'https://quay.io': { Username: 'quayuser', Secret: 'helper-SECRET-789' },
      'ghcr.io': { Username: 'ghuser', Secret: 'helper-SECRET-789' },
    });
    await sb.write('home/.docker/config.json', { auths: { 'https://quay.io': {} }, credsStore: 'store' });
    const quay = await findCredential('quay.io', sb.opts());
    assert.deepEqual(quay, { kind: 'basic', username: 'quayuser', password: 'helper-SECRET-789', source: 'credential helper docker-credential-store' });
    const gh = await findCredential('ghcr.io', sb.opts());
    assert.equal(gh?.kind === 'basic' && gh.username, 'ghuser');
    assert.deepEqual(await sb.calls('store'), ['get https://quay.io', 'get ghcr.io']);
  });

  it('wins over the inline entry of the same file', async () => {
    await sb.helper('store', { 'quay.io': { Username: 'storeuser', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', { auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } }, credsStore: 'store' });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'storeuser');
  });

  it('a store copied from another machine (helper missing) falls back to the inline entry', async () => {
    await sb.write('home/.docker/config.json', { auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } }, credsStore: 'desktop-missing' });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'inlineuser');
  });

  it('also works in a containers auth.json', async () => {
    await sb.helper('store', { 'quay.io': { Username: 'storeuser', Secret: 'helper-SECRET-789' } });
    sb.env.REGISTRY_AUTH_FILE = await sb.write('podman/auth.json', { credHelpers: { 'quay.io': 'store' } });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.source, 'credential helper docker-credential-store');
  });
});

describe('credential helpers: failures', () => {
  it('a failing helper is CREDENTIALS_INVALID naming it and its complaint, no secret', async () => {
    await sb.rawHelper('broken', `process.stderr.write('keyring is locked\\nmore detail\\n'); process.exit(3);`);
    await sb.write('home/.docker/config.json', { auths: { 'quay.io': { auth: b64('inlineuser:hunter2-PASS') } }, credHelpers: { 'quay.io': 'broken' } });
    const err = await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /docker-credential-broken exited with status 3: keyring is locked/);
    assert.ok(!err.message.includes('more detail'), 'only the first line of stderr');
  });

  it('output that is not JSON is an error that does not echo the output', async () => {
    await sb.rawHelper('garbage', `process.stdout.write('Username=u Secret=helper-SECRET-789');`);
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'garbage' } });
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /docker-credential-garbage answered with something that is not JSON/);
  });

  it('a secret without a user name is an error', async () => {
    await sb.helper('nouser', { 'quay.io': { Username: '', Secret: 'helper-SECRET-789' } });
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'nouser' } });
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /no user name/);
  });

  it('a helper that hangs is stopped after the timeout', async () => {
    await sb.rawHelper('slow', `setTimeout(() => {}, 60_000);`);
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'slow' } });
    const started = Date.now();
    await rejectsWithout(() => findCredential('quay.io', sb.opts({ helperTimeoutMs: 300 })), 'CREDENTIALS_INVALID', /docker-credential-slow did not answer within/);
    assert.ok(Date.now() - started < 5000);
  });

  it('a helper that is not executable is an error', async () => {
    await sb.helper('noexec', {});
    await chmod(join(sb.bin, 'docker-credential-noexec'), 0o644);
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'noexec' } });
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /docker-credential-noexec cannot be run/);
  });

  it('a helper that exits without reading stdin still counts by its answer', async () => {
    const program = `#!${process.execPath}\nprocess.stdout.write(JSON.stringify({ Username: 'u', Secret: 'helper-SECRET-789' }));`;
    const path = await sb.write('bin/docker-credential-deaf', program);
    await chmod(path, 0o755);
    await sb.write('home/.docker/config.json', { credHelpers: { 'quay.io': 'deaf' } });
    assert.equal((await findCredential('quay.io', sb.opts()))?.kind, 'basic');
  });
});
