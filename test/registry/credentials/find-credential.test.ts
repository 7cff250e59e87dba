import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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

const basicFile = (key: string, user: string, pass: string) => ({ auths: { [key]: { auth: b64(`${user}:${pass}`) } } });

describe('findCredential: sources and their order', () => {
  it('finds nothing in an empty home (anonymous access)', async () => {
    assert.equal(await findCredential('quay.io', sb.opts()), undefined);
  });

  it('flags come first', async () => {
    sb.env.TARPUSH_USERNAME = 'envuser';
    sb.env.TARPUSH_PASSWORD = 'env-PASS-000';
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'fileuser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts({ username: 'flaguser', password: 'flag-PASS-111' }));
    assert.deepEqual(c, { kind: 'basic', username: 'flaguser', password: 'flag-PASS-111', source: 'flag' });
  });

  it('a flag user name without password is an error, and the reverse too', async () => {
    await rejectsWithout(() => findCredential('quay.io', sb.opts({ username: 'flaguser' })), 'CREDENTIALS_INVALID', /password.*missing/);
    await rejectsWithout(
      () => findCredential('quay.io', sb.opts({ password: 'flag-PASS-111' })),
      'CREDENTIALS_INVALID',
      /--username is missing/,
    );
  });

  it('environment comes before files', async () => {
    sb.env.TARPUSH_USERNAME = 'envuser';
    sb.env.TARPUSH_PASSWORD = 'env-PASS-000';
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'fileuser', 'hunter2-PASS'));
    assert.deepEqual(await findCredential('quay.io', sb.opts()), {
      kind: 'basic',
      username: 'envuser',
      password: 'env-PASS-000',
      source: 'env',
    });
  });

  it('half a pair in the environment is an error naming the variable', async () => {
    sb.env.TARPUSH_USERNAME = 'envuser';
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /TARPUSH_PASSWORD is missing/);
    delete sb.env.TARPUSH_USERNAME;
    sb.env.TARPUSH_PASSWORD = 'env-PASS-000';
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /TARPUSH_USERNAME is missing/);
  });

  it('--authfile comes before the docker config', async () => {
    const authfile = await sb.write('elsewhere/auth.json', basicFile('quay.io', 'authfileuser', 'hunter2-PASS'));
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'dockeruser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts({ authfile }));
    assert.equal(c?.kind === 'basic' && c.username, 'authfileuser');
    assert.equal(c?.source, authfile);
  });

  it('an --authfile with nothing for the registry lets the search go on', async () => {
    const authfile = await sb.write('elsewhere/auth.json', basicFile('ghcr.io', 'ghuser', 'hunter2-PASS'));
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'dockeruser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts({ authfile }));
    assert.equal(c?.kind === 'basic' && c.username, 'dockeruser');
  });

  it('a missing --authfile is an error naming it', async () => {
    const authfile = join(sb.root, 'nope.json');
    const err = await rejectsWithout(() => findCredential('quay.io', sb.opts({ authfile })), 'CREDENTIALS_INVALID', /does not exist/);
    assert.ok(err.message.includes(authfile));
  });

  it('~/.docker/config.json is read when DOCKER_CONFIG is unset', async () => {
    const path = await sb.write('home/.docker/config.json', basicFile('quay.io', 'homeuser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts());
    assert.deepEqual(c, { kind: 'basic', username: 'homeuser', password: 'hunter2-PASS', source: path });
  });

  it('$DOCKER_CONFIG replaces ~/.docker', async () => {
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'homeuser', 'hunter2-PASS'));
    const path = await sb.write('dockercfg/config.json', basicFile('quay.io', 'dcuser', 'hunter2-PASS'));
    sb.env.DOCKER_CONFIG = join(sb.root, 'dockercfg');
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'dcuser');
    assert.equal(c?.source, path);
    // and ~/.docker is then not a fallback
    await sb.write('dockercfg/config.json', { auths: {} });
    assert.equal(await findCredential('quay.io', sb.opts()), undefined);
  });

  it('the docker config comes before podman auth files', async () => {
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'dockeruser', 'hunter2-PASS'));
    sb.env.REGISTRY_AUTH_FILE = await sb.write('podman/auth.json', basicFile('quay.io', 'podmanuser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'dockeruser');
  });

  it('podman files in order: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR, ~/.config', async () => {
    const regAuth = await sb.write('podman/auth.json', basicFile('quay.io', 'regauthuser', 'hunter2-PASS'));
    const runtime = await sb.write('run/containers/auth.json', basicFile('quay.io', 'runtimeuser', 'hunter2-PASS'));
    const config = await sb.write('home/.config/containers/auth.json', basicFile('quay.io', 'configuser', 'hunter2-PASS'));
    sb.env.REGISTRY_AUTH_FILE = regAuth;
    sb.env.XDG_RUNTIME_DIR = join(sb.root, 'run');
    assert.equal((await findCredential('quay.io', sb.opts()))?.source, regAuth);
    delete sb.env.REGISTRY_AUTH_FILE;
    assert.equal((await findCredential('quay.io', sb.opts()))?.source, runtime);
    delete sb.env.XDG_RUNTIME_DIR;
    assert.equal((await findCredential('quay.io', sb.opts()))?.source, config);
  });

  it('$XDG_CONFIG_HOME moves ~/.config', async () => {
    await sb.write('home/.config/containers/auth.json', basicFile('quay.io', 'configuser', 'hunter2-PASS'));
    const moved = await sb.write('xdgconf/containers/auth.json', basicFile('quay.io', 'xdguser', 'hunter2-PASS'));
    sb.env.XDG_CONFIG_HOME = join(sb.root, 'xdgconf');
    assert.equal((await findCredential('quay.io', sb.opts()))?.source, moved);
  });

  it('a docker config without the registry falls through to podman files', async () => {
    await sb.write('home/.docker/config.json', basicFile('ghcr.io', 'ghuser', 'hunter2-PASS'));
    const path = await sb.write('home/.config/containers/auth.json', basicFile('quay.io', 'podmanuser', 'hunter2-PASS'));
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.source, path);
  });

  it('a missing optional file is only a debug note', async () => {
    const notes: string[] = [];
    sb.env.REGISTRY_AUTH_FILE = join(sb.root, 'absent.json');
    assert.equal(await findCredential('quay.io', sb.opts({ debug: (m) => notes.push(m) })), undefined);
    assert.ok(notes.some((n) => n.includes('absent.json')), notes.join('\n'));
  });

  it('an invalid registry name is REFERENCE_INVALID', async () => {
    await rejectsWithout(() => findCredential('quay.io/org/app', sb.opts()), 'REFERENCE_INVALID', /registry/);
  });
});

describe('findCredential: auths entries', () => {
  it('base64 auth whose password holds ":"', async () => {
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'robot$org+ci', 's3cr3t:with:colons'));
    assert.deepEqual(await findCredential('quay.io', sb.opts()), {
      kind: 'basic',
      username: 'robot$org+ci',
      password: 's3cr3t:with:colons',
      source: join(sb.home, '.docker', 'config.json'),
    });
  });

  it('username and password fields', async () => {
    await sb.write('home/.docker/config.json', { auths: { 'ghcr.io': { username: 'octo', password: 'hunter2-PASS' } } });
    const c = await findCredential('ghcr.io', sb.opts());
    assert.equal(c?.kind, 'basic');
    assert.equal(c?.kind === 'basic' && `${c.username}/${c.password}`, 'octo/hunter2-PASS');
  });

  it('identitytoken is a refresh token, with the user name when there is one', async () => {
    await sb.write('home/.docker/config.json', {
      auths: {
        'myacr.azurecr.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'idtok-REFRESH-123' },
        'other.example.com': { identitytoken: 'idtok-REFRESH-123' },
      },
    });
    assert.deepEqual(await findCredential('myacr.azurecr.io', sb.opts()), {
      kind: 'refresh-token',
      username: '00000000-0000-0000-0000-000000000000',
      token: 'idtok-REFRESH-123',
      source: join(sb.home, '.docker', 'config.json'),
    });
    const bare = await findCredential('other.example.com', sb.opts());
    assert.equal(bare?.kind, 'refresh-token');
    assert.equal(bare?.kind === 'refresh-token' && bare.username, undefined);
  });

  it('registrytoken is a bearer token', async () => {
    await sb.write('home/.docker/config.json', { auths: { 'reg.example.com': { registrytoken: 'regtok-BEARER-456' } } });
    assert.deepEqual(await findCredential('reg.example.com', sb.opts()), {
      kind: 'bearer',
      token: 'regtok-BEARER-456',
      source: join(sb.home, '.docker', 'config.json'),
    });
  });

  const hubKeys = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];
  for (const key of hubKeys) {
    it(`Docker Hub under ${JSON.stringify(key)} is found for every Hub alias`, async () => {
      await sb.write('home/.docker/config.json', basicFile(key, 'hubuser', 'hunter2-PASS'));
      for (const registry of ['registry-1.docker.io', 'docker.io', 'index.docker.io']) {
        const c = await findCredential(registry, sb.opts());
        assert.equal(c?.kind === 'basic' && c.username, 'hubuser', `${registry} via ${key}`);
      }
    });
  }

  const keyForms: Array<[string, string]> = [
    ['quay.io', 'quay.io'],
    ['https://quay.io', 'quay.io'],
    ['http://quay.io', 'quay.io'],
    ['https://quay.io/v1/', 'quay.io'],
    ['https://quay.io/v2/', 'quay.io'],
    ['HTTPS://QUAY.IO/v2', 'quay.io'],
    ['localhost:5000', 'localhost:5000'],
    ['http://localhost:5000', 'localhost:5000'],
    ['quay.io/org', 'quay.io'],
    ['quay.io/org/app', 'quay.io'],
  ];
  for (const [key, registry] of keyForms) {
    it(`key ${JSON.stringify(key)} matches ${registry}`, async () => {
      await sb.write('home/.docker/config.json', basicFile(key, 'u', 'hunter2-PASS'));
      assert.equal((await findCredential(registry, sb.opts()))?.kind, 'basic');
    });
  }

  const nonMatching: Array<[string, string]> = [
    ['quay.io.example.com', 'quay.io'],
    ['quay.io:8443', 'quay.io'],
    ['quay.io', 'quay.io:8443'],
    ['https://quay.io/some/other/path', 'ghcr.io'],
    ['docker.io', 'quay.io'],
    ['not a host!', 'quay.io'],
  ];
  for (const [key, registry] of nonMatching) {
    it(`key ${JSON.stringify(key)} does not match ${registry}`, async () => {
      await sb.write('home/.docker/config.json', basicFile(key, 'u', 'hunter2-PASS'));
      assert.equal(await findCredential(registry, sb.opts()), undefined);
    });
  }

  it('the exact key beats URL forms and per-repository keys', async () => {
    await sb.write('home/.docker/config.json', {
      auths: {
        'quay.io/org': { auth: b64('repouser:hunter2-PASS') },
        'https://quay.io/v2/': { auth: b64('urluser:hunter2-PASS') },
        'quay.io': { auth: b64('hostuser:hunter2-PASS') },
      },
    });
    const c = await findCredential('quay.io', sb.opts());
    assert.equal(c?.kind === 'basic' && c.username, 'hostuser');
  });

  it('per-repository keys (containers auth.json): the most specific wins when a repository is given', async () => {
    const authfile = await sb.write('auth.json', {
      auths: {
        'quay.io': { auth: b64('hostuser:hunter2-PASS') },
        'quay.io/org': { auth: b64('orguser:hunter2-PASS') },
        'quay.io/org/app': { auth: b64('appuser:hunter2-PASS') },
        'docker.io/myorg': { auth: b64('huborg:hunter2-PASS') },
      },
    });
    const user = async (registry: string, repository?: string) => {
      const c = await findCredential(registry, sb.opts({ authfile, repository }));
      return c?.kind === 'basic' ? c.username : undefined;
    };
    assert.equal(await user('quay.io', 'org/app'), 'appuser');
    assert.equal(await user('quay.io', 'org/app/sub'), 'appuser');
    assert.equal(await user('quay.io', 'org/other'), 'orguser');
    assert.equal(await user('quay.io', 'elsewhere/x'), 'hostuser');
    assert.equal(await user('quay.io'), 'hostuser');
    assert.equal(await user('registry-1.docker.io', 'myorg/app'), 'huborg');
  });

  it('without a host-wide key, a per-repository key matches any repository on its host', async () => {
    await sb.write('home/.docker/config.json', { auths: { 'quay.io/org': { auth: b64('orguser:hunter2-PASS') } } });
    const c = await findCredential('quay.io', sb.opts({ repository: 'another/repo' }));
    assert.equal(c?.kind === 'basic' && c.username, 'orguser');
  });

  it('an empty entry (credsStore marker) with no helper gives nothing', async () => {
    await sb.write('home/.docker/config.json', { auths: { 'quay.io': {} } });
    assert.equal(await findCredential('quay.io', sb.opts()), undefined);
  });
});

describe('findCredential: malformed files', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON, with a secret in it', '{"auths": {"quay.io": {"auth": "hunter2-PASS" ,,, }}}', /is not valid JSON/],
    ['truncated', `{"auths": {"quay.io": {"password": "s3cr3t:with:colons`, /is not valid JSON/],
    ['top level array', '["hunter2-PASS"]', /top level must be a JSON object/],
    ['auths is a string', '{"auths": "hunter2-PASS"}', /"auths" must be an object/],
    ['entry is a string', '{"auths": {"quay.io": "hunter2-PASS"}}', /entry "quay.io" is not an object/],
    ['auth is not base64', '{"auths": {"quay.io": {"auth": "hunter2-PASS!!"}}}', /not base64 of "user:password"/],
    ['auth has no colon', `{"auths": {"quay.io": {"auth": "${b64('hunter2-PASS')}"}}}`, /not base64 of "user:password"/],
    ['password is a number', '{"auths": {"quay.io": {"username": "u", "password": 12345}}}', /non-string "password"/],
    ['user name without password', '{"auths": {"quay.io": {"username": "u"}}}', /password is missing/],
    ['password without user name', '{"auths": {"quay.io": {"password": "hunter2-PASS"}}}', /no user name/],
    ['credHelpers is a list', '{"credHelpers": ["pass"]}', /"credHelpers" must be an object/],
    ['credHelpers value with a path', '{"credHelpers": {"quay.io": "../../bin/sh"}}', /must be a helper name/],
    ['credsStore is a number', '{"credsStore": 7}', /"credsStore" must be a helper name/],
  ];
  for (const [name, text, why] of cases) {
    it(`${name} → CREDENTIALS_INVALID naming the file, no secret`, async () => {
      const path = await sb.write('home/.docker/config.json', text);
      const err = await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', why, [
        b64('hunter2-PASS'),
      ]);
      assert.ok(err.message.includes(path), err.message);
    });
  }

  it('an --authfile that is a directory cannot be read', async () => {
    await sb.write('dir/placeholder', 'x');
    await rejectsWithout(() => findCredential('quay.io', sb.opts({ authfile: join(sb.root, 'dir') })), 'CREDENTIALS_INVALID', /cannot be read/);
  });

  it('a malformed file is reported even when it sits after a file without the registry', async () => {
    await sb.write('home/.docker/config.json', basicFile('ghcr.io', 'u', 'hunter2-PASS'));
    sb.env.REGISTRY_AUTH_FILE = await sb.write('podman/auth.json', '{ nope');
    await rejectsWithout(() => findCredential('quay.io', sb.opts()), 'CREDENTIALS_INVALID', /podman\/auth\.json: is not valid JSON/);
  });

  it('a malformed file later in the order is not read once a credential is found', async () => {
    await sb.write('home/.docker/config.json', basicFile('quay.io', 'u', 'hunter2-PASS'));
    sb.env.REGISTRY_AUTH_FILE = await sb.write('podman/auth.json', '{ nope');
    assert.equal((await findCredential('quay.io', sb.opts()))?.kind, 'basic');
  });
});
