import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { publish } from '../../src/publish/publish.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { expected, fixture, tempDir } from './support.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { run } from '../support/exec.js';


let tokenReg: RegistryHandle;
let tlsReg: RegistryHandle;
let proxy: FaultProxyHandle;
before(async () => {
  [tokenReg, tlsReg] = await Promise.all([startRegistry({ mode: 'token' }), startRegistry({ mode: 'htpasswd-tls' })]);
  proxy = await startFaultProxy({ url: tokenReg.url });
});
after(async () => {
  await proxy?.stop();
  await Promise.all([tokenReg?.stop(), tlsReg?.stop()]);
});

const secrets = () => [tokenReg.users.admin.password, tokenReg.users.reader.password, tlsReg.users.admin.password];

test('push with bearer tokens; a token that expires mid-push is renewed', async () => {
  const { username, password } = tokenReg.users.admin;
  proxy.setRules([{ kind: 'expire-token', match: { method: 'PUT' }, times: 1 }]);
  try {
    const [r] = await publish({ source: fixture('kaniko.tar'), destinations: [`${proxy.host}/auth/token:v1`], cache: false, client: { username, password } });
    assert.equal(r!.digest, expected['kaniko.tar']!.images[0]!.manifestDigest);
  } finally {
    proxy.setRules([]);
  }
  const out = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${username}:${password}`, `docker://${tokenReg.host}/auth/token:v1`]);
  assert.match(out.stdout, /schemaVersion/);
});

test('a read-only user is refused with exit status 3, and no secret is printed', async () => {
  const { username, password } = tokenReg.users.reader;
  await assert.rejects(
    publish({ source: fixture('kaniko.tar'), destinations: [`${tokenReg.host}/auth/denied:v1`], cache: false, client: { username, password } }),
    (e: unknown) => isTarpushError(e) && e.exitCode === 3 && !secrets().some((s) => e.message.includes(s)),
  );
  const bin = (extra: string[]) => ['push', fixture('kaniko.tar'), `${tokenReg.host}/auth/denied:v1`, '--no-cache', ...extra];
  // --password-stdin with nothing on stdin is a usage error (2); the password on stdin → 3.
  const empty = await tarpushCli(bin(['--username', username, '--password-stdin']));
  assert.equal(empty.code, 2, empty.stderr);
  const viaStdin = await tarpushCli(bin(['--username', username, '--password-stdin']), { input: `${password}\n` });
  assert.equal(viaStdin.code, 3, viaStdin.stderr);
  assert.match(viaStdin.stderr, /^tarpush: AUTH_DENIED: /);
  const viaEnv = await tarpushCli(bin([]), { env: { TARPUSH_USERNAME: username, TARPUSH_PASSWORD: password } });
  assert.equal(viaEnv.code, 3, viaEnv.stderr);
  for (const run of [empty, viaStdin]) for (const s of secrets()) assert.ok(!run.stderr.includes(s) && !run.stdout.includes(s));
  for (const s of secrets()) assert.ok(!viaEnv.stderr.includes(s) && !viaEnv.stdout.includes(s));
});

test('push to a TLS registry with htpasswd, trusting the test CA', async (t) => {
  const { username, password } = tlsReg.users.admin;
  const [r] = await publish({ source: fixture('oci-archive.tar'), destinations: [`${tlsReg.host}/auth/tls:v1`], cache: false, client: { username, password, caFile: tlsReg.caFile } });
  assert.equal(r!.digest, expected['oci-archive.tar']!.images[0]!.manifestDigest);
  // Without the CA the certificate is not trusted: an error, not a silent downgrade.
  await assert.rejects(
    publish({ source: fixture('oci-archive.tar'), destinations: [`${tlsReg.host}/auth/tls:v2`], cache: false, client: { username, password, retries: 1 } as never }),
    (e: unknown) => isTarpushError(e),
  );
  const dir = await tempDir(t);
  void dir;
});
