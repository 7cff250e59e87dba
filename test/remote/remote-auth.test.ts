import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isTarpushError, TarpushError } from '../../src/errors.js';
import { addTags, deleteReference, describeRemote, listCatalog, listTags, resolveDigest } from '../../src/remote/index.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { clientOptionsFor, emptyHome, seeded, seedRegistry, skopeoConfig, skopeoDigest, skopeoTags } from './support.js';

let home: { dir: string; remove(): Promise<void> };
before(async () => {
  home = await emptyHome();
});
after(() => home.remove());

/** The error must be a TarpushError with `code` whose message carries no password of `reg`. */
function failsWith(code: string, reg: RegistryHandle) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof TarpushError, String(e));
    assert.equal(e.code, code, e.message);
    for (const u of Object.values(reg.users)) assert.ok(!e.message.includes(u.password) && !JSON.stringify(e.details).includes(u.password));
    return true;
  };
}

describe('token auth: the reader reads, only the admin writes', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'token' });
    await seedRegistry(reg);
  });
  after(() => reg.stop());

  test('reader: digest, inspect and tags agree with skopeo', async () => {
    const reader = clientOptionsFor(reg, home.dir, reg.users.reader);
    assert.equal(await resolveDigest(`${reg.host}/${seeded.multi}`, { clientOptions: reader }), await skopeoDigest(reg, seeded.multi, reg.users.reader));
    const [image] = await describeRemote(`${reg.host}/${seeded.oci}`, { clientOptions: reader });
    const config = JSON.parse(await skopeoConfig(reg, seeded.oci)) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(image!.layers.map((l) => l.diffId), config.rootfs.diff_ids);
    assert.deepEqual((await listTags(`${reg.host}/fx/demo`, { clientOptions: reader })).tags, await skopeoTags(reg, 'fx/demo'));
  });

  test('reader: tag, delete and catalog are refused (AUTH_DENIED, exit 3); nothing changed', async () => {
    const reader = clientOptionsFor(reg, home.dir, reg.users.reader);
    const result = await addTags(`${reg.host}/${seeded.oci}`, ['by-reader'], { clientOptions: reader });
    assert.deepEqual(result.tagged, []);
    assert.equal(result.failed.length, 1);
    assert.ok(failsWith('AUTH_DENIED', reg)(result.failed[0]!.error));
    assert.equal((result.failed[0]!.error as TarpushError).exitCode, 3);
    await assert.rejects(deleteReference(`${reg.host}/${seeded.oci}`, { clientOptions: reader }), failsWith('AUTH_DENIED', reg));
    await assert.rejects(listCatalog(reg.host, { clientOptions: reader }), failsWith('AUTH_DENIED', reg));
    assert.ok(!(await skopeoTags(reg, 'fx/demo')).includes('by-reader'));
    assert.ok(await skopeoDigest(reg, seeded.oci));
  });

  test('anonymous: AUTH_REQUIRED; wrong password: refused by the token server', async () => {
    const anonymous = clientOptionsFor(reg, home.dir);
    await assert.rejects(resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions: anonymous }), failsWith('AUTH_REQUIRED', reg));
    const wrong = clientOptionsFor(reg, home.dir, { username: reg.users.reader.username, password: 'not-the-password' });
    await assert.rejects(resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions: wrong }), (e) => isTarpushError(e) && e.exitCode === 3);
  });

  test('admin: tag, catalog and delete work', async () => {
    const admin = clientOptionsFor(reg, home.dir, reg.users.admin);
    const digest = await skopeoDigest(reg, seeded.docker);
    const result = await addTags(`${reg.host}/${seeded.docker}`, ['extra'], { clientOptions: admin });
    assert.deepEqual(result.tagged.map((t) => t.reference), [`${reg.host}/fx/docker:extra@${digest}`]);
    assert.deepEqual((await listCatalog(reg.host, { clientOptions: admin })).repositories, ['fx/demo', 'fx/docker', 'fx/multi']);
    assert.equal((await deleteReference(`${reg.host}/fx/docker:extra`, { clientOptions: admin })).digest, digest);
    assert.deepEqual(await skopeoTags(reg, 'fx/docker'), []);
  });
});

describe('htpasswd over TLS: the CA is needed', () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd-tls' });
    await seedRegistry(reg);
  });
  after(() => reg.stop());

  test('with --ca-file: digest and inspect agree with skopeo', async () => {
    const opts = clientOptionsFor(reg, home.dir, reg.users.admin);
    assert.equal(await resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions: opts }), await skopeoDigest(reg, seeded.oci));
    const images = await describeRemote(`${reg.host}/${seeded.multi}`, { clientOptions: opts, platform: 'linux/amd64' });
    assert.equal(images.length, 1);
    const config = JSON.parse(await skopeoConfig(reg, seeded.multi, { arch: 'amd64' })) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(images[0]!.layers.map((l) => l.diffId), config.rootfs.diff_ids);
  });

  test('without the CA: a TLS error naming --ca-file (exit 1); bad password: CREDENTIALS_INVALID (exit 3)', async () => {
    const { caFile: _ca, ...noCa } = clientOptionsFor(reg, home.dir, reg.users.admin);
    await assert.rejects(resolveDigest(`${reg.host}/${seeded.oci}`, { clientOptions: noCa }), (e) => {
      assert.ok(failsWith('NETWORK_ERROR', reg)(e));
      assert.match((e as Error).message, /--ca-file/);
      assert.equal((e as TarpushError).exitCode, 1);
      return true;
    });
    const wrong = clientOptionsFor(reg, home.dir, { username: reg.users.admin.username, password: 'not-the-password' });
    await assert.rejects(listTags(`${reg.host}/fx/demo`, { clientOptions: wrong }), (e) => failsWith('CREDENTIALS_INVALID', reg)(e) && (e as TarpushError).exitCode === 3);
  });
});
