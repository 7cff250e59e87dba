import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryHandle } from './registry.js';
import { authHeader, basicAuth, fetchToken, plainFetch, putManifestPlain, uploadBlobPlain } from './plain-http.js';
import { makeTinyImage, type TinyImage } from './tiny-image.js';

let workDir: string;
let image: TinyImage;
before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-registry-test-'));
  image = await makeTinyImage(path.join(workDir, 'layout'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Pushes the tiny image with plain HTTP calls and checks the registry serves it back. */
async function pushAndReadBack(reg: RegistryHandle, name: string): Promise<void> {
  const f = plainFetch(reg.caFile);
  const auth = await authHeader(reg, [`repository:${name}:pull,push`]);
  for (const blob of [image.config, ...image.layers]) {
    const put = await uploadBlobPlain(f, reg.url, name, blob, auth);
    assert.equal(put.status, 201, await put.text());
    assert.equal(put.headers.get('docker-content-digest'), blob.digest);
  }
  const put = await putManifestPlain(f, reg.url, name, 'v1', { data: image.manifest.data, mediaType: image.manifestMediaType }, auth);
  assert.equal(put.status, 201, await put.text());
  assert.equal(put.headers.get('docker-content-digest'), image.manifest.digest);
  const got = await f(`${reg.url}/v2/${name}/manifests/v1`, { headers: { ...auth, accept: image.manifestMediaType } });
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), image.manifest.data);
}

describe('anonymous registry', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  test('answers /v2/ with 200 over plain http, with the configured headers', async () => {
    assert.equal(reg.mode, 'anonymous');
    assert.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(reg.url, `http://${reg.host}`);
    const res = await plainFetch()(`${reg.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('accepts a push and, with deletes enabled, a delete by digest', async () => {
    await pushAndReadBack(reg, 'plain/app');
    const f = plainFetch();
    const del = await f(`${reg.url}/v2/plain/app/manifests/${image.manifest.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const gone = await f(`${reg.url}/v2/plain/app/manifests/${image.manifest.digest}`);
    assert.equal(gone.status, 404);
  });
});

describe('htpasswd registry over TLS', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd-tls' });
  });
  after(() => reg.stop());

  test('asks for Basic credentials, over TLS verified with the test CA', async () => {
    assert.match(reg.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(reg.caFile && existsSync(reg.caFile));
    const f = plainFetch(reg.caFile);
    const res = await f(`${reg.url}/v2/`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="tarpush-test"/);
    assert.equal((await f(`${reg.url}/v2/`, { headers: { authorization: basicAuth(reg.users.admin) } })).status, 200);
    // htpasswd has no ACLs: the reader is just another valid account.
    assert.equal((await f(`${reg.url}/v2/`, { headers: { authorization: basicAuth(reg.users.reader) } })).status, 200);
    const wrong = { ...reg.users.admin, password: 'wrong' };
    assert.equal((await f(`${reg.url}/v2/`, { headers: { authorization: basicAuth(wrong) } })).status, 401);
  });

  test('is not trusted without the CA', async () => {
    await assert.rejects(plainFetch()(`${reg.url}/v2/`), (err: Error & { cause?: { code?: string } }) => {
      assert.match(String(err.cause?.code ?? err.message), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/i);
      return true;
    });
  });

  test('accepts a push with Basic credentials', async () => {
    await pushAndReadBack(reg, 'tls/app');
  });
});

describe('token registry', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'token' });
  });
  after(() => reg.stop());

  test('challenges with Bearer pointing at the token server, and accepts its token', async () => {
    const ts = reg.tokenServer!;
    const f = plainFetch();
    const res = await f(`${reg.url}/v2/`);
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.equal(/realm="([^"]+)"/.exec(challenge)?.[1], ts.realm);
    assert.equal(/service="([^"]+)"/.exec(challenge)?.[1], ts.service);
    const before = ts.issued;
    const token = await fetchToken(reg, [], reg.users.admin);
    assert.equal(ts.issued, before + 1);
    assert.equal((await f(`${reg.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });

  test('lets admin push and read the catalog', async () => {
    await pushAndReadBack(reg, 'tok/app');
    const f = plainFetch();
    const token = await fetchToken(reg, ['registry:catalog:*'], reg.users.admin);
    const res = await f(`${reg.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { repositories: string[] }).repositories, ['tok/app']);
  });

  test('gives the reader pull only: a push gets 401 insufficient_scope', async () => {
    const f = plainFetch();
    const token = await fetchToken(reg, ['repository:tok/app:pull,push'], reg.users.reader);
    const auth = { authorization: `Bearer ${token}` };
    const pull = await f(`${reg.url}/v2/tok/app/manifests/v1`, { headers: { ...auth, accept: image.manifestMediaType } });
    assert.equal(pull.status, 200);
    const push = await f(`${reg.url}/v2/tok/app/blobs/uploads/`, { method: 'POST', headers: auth });
    assert.equal(push.status, 401);
    assert.match(push.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const anonymous = await fetchToken(reg, ['repository:tok/app:pull']);
    const anonPull = await f(`${reg.url}/v2/tok/app/manifests/v1`, { headers: { authorization: `Bearer ${anonymous}` } });
    assert.equal(anonPull.status, 401, 'anonymous tokens grant nothing');
  });

  test('refuses a token once its lifetime has passed', async () => {
    const ts = reg.tokenServer!;
    ts.setTokenLifetime(1);
    try {
      const token = await fetchToken(reg, [], reg.users.admin);
      const f = plainFetch();
      const t0 = Date.now();
      let status = 0;
      while (Date.now() - t0 < 3000) {
        status = (await f(`${reg.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 401, 'token still accepted 3 s after a 1 s lifetime');
    } finally {
      ts.setTokenLifetime(300);
    }
  });
});

test('stop() ends the registry process and removes its files', async () => {
  const reg = await startRegistry({ mode: 'token' });
  const root = path.dirname(reg.dataDir);
  assert.ok(existsSync(reg.logFile));
  await reg.stop();
  await reg.stop(); // idempotent
  assert.equal(existsSync(root), false);
  await assert.rejects(plainFetch()(`${reg.url}/v2/`));
  await assert.rejects(plainFetch()(reg.tokenServer!.realm));
});

test('a registry does not outlive its test process, even one killed with SIGKILL', async () => {
  const registryModule = new URL('./registry.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(registryModule)});
const r = await m.startRegistry();
console.log(JSON.stringify({ url: r.url, dataDir: r.dataDir }));
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    child.once('exit', () => reject(new Error('child exited early')));
  });
  const { url, dataDir } = JSON.parse(line) as { url: string; dataDir: string };
  try {
    assert.equal((await plainFetch()(`${url}/v2/`)).status, 200);
    child.kill('SIGKILL');
    const t0 = Date.now();
    let alive = true;
    while (alive && Date.now() - t0 < 3000) {
      alive = await plainFetch()(`${url}/v2/`).then(() => true, () => false);
      if (alive) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(alive, false, 'the registry still answers after its parent was killed');
  } finally {
    child.kill('SIGKILL');
    await rm(path.dirname(dataDir), { recursive: true, force: true });
  }
});
