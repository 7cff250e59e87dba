import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { publish } from '../../src/publish/publish.js';
import { isTarpushError } from '../../src/errors.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { expected, fixture, repoRoot, tempDir } from './support.js';
import { run } from '../support/exec.js';

const execFileP = promisify(execFile);

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
  const cli = await execFileP(process.execPath, [join(repoRoot, 'bin/tarpush.js'), 'push', fixture('kaniko.tar'), `${tokenReg.host}/auth/denied:v1`, '--username', username, '--password-stdin', '--no-cache'], {
    env: { ...process.env, TARPUSH_PASSWORD: '' },
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  // --password-stdin with no stdin → usage error (2); with the env password → 3.
  assert.ok('code' in cli && cli.code === 2, JSON.stringify(cli));
  const viaEnv = await execFileP(process.execPath, [join(repoRoot, 'bin/tarpush.js'), 'push', fixture('kaniko.tar'), `${tokenReg.host}/auth/denied:v1`, '--no-cache'], {
    env: { ...process.env, TARPUSH_USERNAME: username, TARPUSH_PASSWORD: password },
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  assert.ok('code' in viaEnv && viaEnv.code === 3, JSON.stringify(viaEnv));
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
