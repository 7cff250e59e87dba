import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixture } from '../publish/support.js';
import { makeSandbox, type Sandbox } from '../registry/credentials/sandbox.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/**
 * login / logout against real registries (htpasswd over TLS, token auth), with a throw-away
 * HOME and fake credential helpers on PATH; and what a refused credential says about its source.
 */

for (const mode of ['htpasswd-tls', 'token'] as const) {
  describe(`login and logout (${mode})`, () => {
    let reg: RegistryHandle;
    let sb: Sandbox;
    before(async () => {
      reg = await startRegistry({ mode });
      sb = await makeSandbox();
    });
    after(async () => {
      await reg.stop();
      await sb.cleanup();
    });
    const ca = (): string[] => (reg.caFile ? ['--ca-file', reg.caFile] : []);
    const env = (): NodeJS.ProcessEnv => ({ HOME: sb.home, PATH: sb.env.PATH, DOCKER_CONFIG: '', TARPUSH_USERNAME: '', TARPUSH_PASSWORD: '', REGISTRY_AUTH_FILE: '', XDG_RUNTIME_DIR: '', XDG_CONFIG_HOME: join(sb.root, 'xdg') });
    const config = (): string => join(sb.home, '.docker', 'config.json');

    test('wrong credentials are refused and nothing is written; the password never shows', async () => {
      const { admin } = reg.users;
      const r = await tarpushCli(['login', reg.host, '-u', admin.username, '--password-stdin', ...ca()], { env: env(), input: 'wrong-PASSWORD-9' });
      assert.equal(r.code, 3, r.stderr);
      // One error line; a fallback line (token POST refused → GET) may come before it.
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('tarpush:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, /^tarpush: CREDENTIALS_INVALID: .*refused the (username\/password|credentials) from --username and --password-stdin/);
      assert.ok(!r.stderr.includes('wrong-PASSWORD-9') && !r.stdout.includes('wrong-PASSWORD-9'));
      await assert.rejects(stat(config()));
    });

    test('login writes auths (0600, other keys kept), push uses it, logout removes it', async () => {
      const { admin } = reg.users;
      await sb.write('home/.docker/config.json', { auths: { 'other.example': { auth: 'eDp5' } }, psFormat: 'table {{.ID}}' });
      const r = await tarpushCli(['login', reg.host, '-u', admin.username, '--password-stdin', ...ca()], { env: env(), input: `${admin.password}\n` });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `logged in to ${reg.host} as ${admin.username}; saved in ${config()}\n`);
      assert.ok(!r.stdout.includes(admin.password) && !r.stderr.includes(admin.password));
      const saved = JSON.parse(await readFile(config(), 'utf8'));
      assert.equal(saved.psFormat, 'table {{.ID}}');
      assert.deepEqual(saved.auths['other.example'], { auth: 'eDp5' });
      assert.equal(Buffer.from(saved.auths[reg.host].auth, 'base64').toString(), `${admin.username}:${admin.password}`);
      assert.equal((await stat(config())).mode & 0o777, 0o600);
      const push = await tarpushCli(['push', fixture('kaniko.tar'), `${reg.host}/login/app:v1`, '--no-cache', '--progress', 'none', ...ca()], { env: env() });
      assert.equal(push.code, 0, push.stderr);
      const out = await tarpushCli(['logout', reg.host], { env: env() });
      assert.equal(out.code, 0, out.stderr);
      const after = JSON.parse(await readFile(config(), 'utf8'));
      assert.equal(after.auths[reg.host], undefined);
      assert.deepEqual(after.auths['other.example'], { auth: 'eDp5' });
      const again = await tarpushCli(['digest', `${reg.host}/login/app:v1`, ...ca()], { env: env() });
      assert.equal(again.code, 3);
      assert.match(again.stderr, new RegExp(`log in with tarpush login ${reg.host.replace(/\./g, '\\.')}`));
    });

    test('with a credsStore the secret goes to the helper, the file keeps an empty entry; logout erases it', async () => {
      const { admin } = reg.users;
      const store = join(sb.root, 'store.json');
      await sb.rawHelper(
        'fakestore',
        `const st = ${JSON.stringify(store)}; const db = fs.existsSync(st) ? JSON.parse(fs.readFileSync(st, 'utf8')) : {};
const verb = process.argv[2];
if (verb === 'store') { const c = JSON.parse(input); db[c.ServerURL] = c; fs.writeFileSync(st, JSON.stringify(db)); }
else if (verb === 'get') { const c = db[input.trim()]; if (!c) { process.stdout.write('credentials not found in native keychain'); process.exit(1); } process.stdout.write(JSON.stringify({ Username: c.Username, Secret: c.Secret })); }
else if (verb === 'erase') { delete db[input.trim()]; fs.writeFileSync(st, JSON.stringify(db)); }`,
      );
      await sb.write('home/.docker/config.json', { credsStore: 'fakestore', auths: {} });
      const r = await tarpushCli(['login', reg.host, '-u', admin.username, '--password-stdin', ...ca()], { env: env(), input: admin.password });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /saved in credential helper docker-credential-fakestore\n$/);
      const file = JSON.parse(await readFile(config(), 'utf8'));
      assert.deepEqual(file.auths[reg.host], {});
      assert.ok(!JSON.stringify(file).includes(admin.password));
      assert.deepEqual(JSON.parse(await readFile(store, 'utf8'))[reg.host], { ServerURL: reg.host, Username: admin.username, Secret: admin.password });
      const d = await tarpushCli(['push', fixture('kaniko.tar'), `${reg.host}/login/helper:v1`, '--no-cache', '--progress', 'none', ...ca()], { env: env() });
      assert.equal(d.code, 0, d.stderr);
      const out = await tarpushCli(['logout', reg.host], { env: env() });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(JSON.parse(await readFile(store, 'utf8'))[reg.host], undefined);
    });

    test('a refused credential names its source: env, config file, helper; a missing helper is said', async () => {
      const ref = `${reg.host}/login/app:v1`;
      const viaEnv = await tarpushCli(['digest', ref, ...ca()], { env: { ...env(), TARPUSH_USERNAME: reg.users.admin.username, TARPUSH_PASSWORD: 'bad-ENV-pass' } });
      assert.equal(viaEnv.code, 3);
      assert.match(viaEnv.stderr, /from TARPUSH_USERNAME and TARPUSH_PASSWORD/);
      const file = join(sb.root, 'bad.json');
      await writeFile(file, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.users.admin.username}:bad-FILE-pass`).toString('base64') } } }));
      const viaFile = await tarpushCli(['digest', ref, '--authfile', file, ...ca()], { env: env() });
      assert.equal(viaFile.code, 3);
      assert.ok(viaFile.stderr.includes(`from credentials file ${file}`), viaFile.stderr);
      await sb.helper('badhelper', { [reg.host]: { Username: reg.users.admin.username, Secret: 'bad-HELPER-pass' } });
      await writeFile(file, JSON.stringify({ credHelpers: { [reg.host]: 'badhelper' } }));
      const viaHelper = await tarpushCli(['digest', ref, '--authfile', file, ...ca()], { env: env() });
      assert.equal(viaHelper.code, 3);
      assert.match(viaHelper.stderr, /from credential helper docker-credential-badhelper/);
      await writeFile(file, JSON.stringify({ credHelpers: { [reg.host]: 'notinstalled' } }));
      const missing = await tarpushCli(['push', fixture('kaniko.tar'), `${reg.host}/login/x:v1`, '--no-cache', '--progress', 'none', '--authfile', file, ...ca()], { env: env() });
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /log in with tarpush login \S+ \(docker-credential-notinstalled is not installed, so it was skipped\)/);
      for (const s of ['bad-ENV-pass', 'bad-FILE-pass', 'bad-HELPER-pass']) assert.ok(![viaEnv, viaFile, viaHelper].some((x) => x.stderr.includes(s)));
    });
  });
}
