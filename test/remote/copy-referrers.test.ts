/**
 * `tarpush copy --referrers` between two real registries (distribution 2.8, which has no
 * referrers API: referrers are found and recorded through the `sha256-<hex>` fallback tag),
 * and through a proxy that answers the referrers API, which is then preferred.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256, type Digest } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { bufferSource } from '../../src/image/sources.js';
import type { Descriptor } from '../../src/image/types.js';
import { publish } from '../../src/publish/publish.js';
import { RegistryClient, readReferrersTag, recordReferrer, referrersTag, type Repository } from '../../src/registry/index.js';
import { run } from '../support/exec.js';
import { fixtureByName } from '../support/fixtures.js';
import { startFaultProxy, type FaultProxyHandle } from '../support/proxy.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { FAST } from '../registry/helpers.js';

const EMPTY = Buffer.from('{}');

/** Push a small artifact (an SBOM or a signature) that refers to `subject`, and list it as a registry without the API needs. */
async function pushReferrer(repo: Repository, subject: Descriptor, text: string, artifactType: string): Promise<Descriptor> {
  const blob = Buffer.from(text);
  await repo.putBlob(sha256(EMPTY), bufferSource(EMPTY, 'empty config'));
  await repo.putBlob(sha256(blob), bufferSource(blob, text));
  const raw = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType,
      config: { mediaType: MediaType.ociEmpty, digest: sha256(EMPTY), size: EMPTY.length },
      layers: [{ mediaType: artifactType, digest: sha256(blob), size: blob.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const d: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(raw), size: raw.length, artifactType };
  await repo.putManifest(d.digest, raw, MediaType.ociManifest);
  await recordReferrer(repo, subject.digest, d);
  return d;
}

describe('copy --referrers', () => {
  let a: RegistryHandle;
  let b: RegistryHandle;
  let proxy: FaultProxyHandle;
  let home: string;
  let clientA: RegistryClient;
  let clientB: RegistryClient;
  /** oci-artifacts: an image, an SBOM and a signature of it; plus a signature of the SBOM. */
  let image: Descriptor;
  let direct: Descriptor[];
  let sbomSig: Descriptor;
  /** multi-platform: the index, its two children, a referrer of each and one of the index. */
  let index: Descriptor;
  let children: Record<'amd64' | 'arm64', Descriptor>;
  let childRefs: Record<'amd64' | 'arm64', Descriptor>;
  let indexRef: Descriptor;

  before(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    proxy = await startFaultProxy({ url: a.url });
    home = await mkdtemp(join(tmpdir(), 'tarpush-referrers-'));
    clientA = new RegistryClient(a.host, { ...FAST, homeDir: home, env: {} });
    clientB = new RegistryClient(b.host, { ...FAST, homeDir: home, env: {} });
    const results = await publish({ source: fixtureByName('oci-artifacts').path, destinations: [`${a.host}/art/app`], all: true, cache: false });
    const img = results.find((r) => r.destinations[0]!.tags.length > 0)!;
    const repo = clientA.repository('art/app');
    image = { mediaType: img.mediaType, digest: img.digest, size: (await repo.getManifest(img.digest)).raw.length };
    direct = await readReferrersTag(repo, image.digest);
    assert.equal(direct.length, 2, 'the fixture pushed two referrers, listed in the fallback tag');
    sbomSig = await pushReferrer(repo, direct.find((d) => d.artifactType === 'application/spdx+json')!, 'signature of the SBOM', 'application/vnd.example.sig');

    const [multi] = await publish({ source: fixtureByName('multi-platform').path, destinations: [`${a.host}/multi/app:v1`], cache: false });
    const mrepo = clientA.repository('multi/app');
    const raw = (await mrepo.getManifest('v1')).raw;
    index = { mediaType: multi!.mediaType, digest: multi!.digest, size: raw.length };
    const listed = (JSON.parse(raw.toString('utf8')) as { manifests: Descriptor[] }).manifests;
    const of = (arch: string) => listed.find((d) => d.platform?.architecture === arch)!;
    children = { amd64: of('amd64'), arm64: of('arm64') };
    childRefs = {
      amd64: await pushReferrer(mrepo, children.amd64, 'sbom of amd64', 'application/spdx+json'),
      arm64: await pushReferrer(mrepo, children.arm64, 'sbom of arm64', 'application/spdx+json'),
    };
    indexRef = await pushReferrer(mrepo, index, 'signature of the index', 'application/vnd.example.sig');
  });
  after(async () => {
    await clientA?.close();
    await clientB?.close();
    await proxy?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  const copy = async (...args: string[]) => {
    const r = await tarpushCli(['copy', ...args, '--progress', 'plain'], { env: { TARPUSH_CACHE_DIR: join(home, 'cache'), HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  /** What skopeo reads at `host/repo@digest`: the bytes must hash to it. */
  const skopeoHas = async (host: string, repo: string, d: Digest): Promise<boolean> => {
    let raw: string;
    try {
      raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${repo}@${d}`])).stdout;
    } catch (e) {
      if (/manifest unknown|not found/i.test((e as Error).message)) return false;
      throw e;
    }
    assert.equal(sha256(raw), d, 'skopeo reads the same bytes');
    return true;
  };
  const listedAt = async (client: RegistryClient, repo: string, subject: Digest) => (await readReferrersTag(client.repository(repo), subject)).map((d) => d.digest).sort();

  it('copies every referrer of the image, and the referrer of a referrer, with their digests, after the image', async () => {
    const r = await copy('--referrers', `${a.host}/art/app:v1`, `${b.host}/copy/app:v1`);
    assert.ok(await skopeoHas(b.host, 'copy/app', image.digest));
    for (const d of [...direct, sbomSig]) assert.ok(await skopeoHas(b.host, 'copy/app', d.digest), `${d.digest} arrived`);
    assert.deepEqual(await listedAt(clientB, 'copy/app', image.digest), direct.map((d) => d.digest).sort(), 'the image\'s referrers are listed at the destination');
    const sbom = direct.find((d) => d.artifactType === 'application/spdx+json')!;
    assert.deepEqual(await listedAt(clientB, 'copy/app', sbom.digest), [sbomSig.digest]);
    assert.match(r.stderr, new RegExp(`added to the referrers tag ${referrersTag(image.digest)}`));
  });

  it('without --referrers they are not copied', async () => {
    await copy(`${a.host}/art/app:v1`, `${b.host}/plain/app:v1`);
    assert.ok(await skopeoHas(b.host, 'plain/app', image.digest));
    for (const d of direct) assert.equal(await skopeoHas(b.host, 'plain/app', d.digest), false);
    assert.deepEqual(await listedAt(clientB, 'plain/app', image.digest), []);
  });

  it('an index: the referrers of the index and of each child', async () => {
    await copy('--referrers', `${a.host}/multi/app:v1`, `${b.host}/multi/all:v1`);
    for (const d of [index, children.amd64, children.arm64, childRefs.amd64, childRefs.arm64, indexRef]) assert.ok(await skopeoHas(b.host, 'multi/all', d.digest), `${d.digest} arrived`);
    assert.deepEqual(await listedAt(clientB, 'multi/all', children.arm64.digest), [childRefs.arm64.digest]);
    assert.deepEqual(await listedAt(clientB, 'multi/all', index.digest), [indexRef.digest]);
  });

  it('--platform: the kept child keeps its referrer; the filtered-out child and the rewritten index bring none', async () => {
    await copy('--referrers', '--platform', 'linux/amd64', `${a.host}/multi/app:v1`, `${b.host}/multi/amd:v1`);
    assert.ok(await skopeoHas(b.host, 'multi/amd', childRefs.amd64.digest), 'the amd64 child\'s referrer arrived');
    assert.deepEqual(await listedAt(clientB, 'multi/amd', children.amd64.digest), [childRefs.amd64.digest]);
    assert.equal(await skopeoHas(b.host, 'multi/amd', childRefs.arm64.digest), false, 'the arm64 child was not copied, nor its referrer');
    assert.equal(await skopeoHas(b.host, 'multi/amd', indexRef.digest), false, 'the index was rewritten: its referrer names a manifest not copied');
  });

  it('prefers the referrers API where the source has it', async () => {
    const sbom = direct.find((d) => d.artifactType === 'application/spdx+json')!;
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [sbom] });
    // The API lists only the SBOM (the fallback tag lists the signature too); the SBOM's own referrers come from the API too: none.
    proxy.setRules([
      { kind: 'status', status: 200, match: { path: new RegExp(`/referrers/${image.digest}$`) }, headers: { 'Content-Type': MediaType.ociIndex }, body },
      { kind: 'status', status: 200, match: { path: /\/referrers\// }, headers: { 'Content-Type': MediaType.ociIndex }, body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }) },
    ]);
    try {
      await copy('--referrers', `${proxy.host}/art/app:v1`, `${b.host}/api/app:v1`);
    } finally {
      proxy.setRules([]);
    }
    assert.ok(await skopeoHas(b.host, 'api/app', sbom.digest));
    const sig = direct.find((d) => d.digest !== sbom.digest)!;
    assert.equal(await skopeoHas(b.host, 'api/app', sig.digest), false, 'what only the fallback tag lists is not read when the API answers');
    assert.equal(await skopeoHas(b.host, 'api/app', sbomSig.digest), false);
  });

  it('into a layout they are listed in index.json (found by subject); a docker-archive holds images only and says so', async () => {
    const dir = await mkdtemp(join(home, 'layout-'));
    await copy('--referrers', `${a.host}/art/app:v1`, `oci:${join(dir, 'oci')}:v1`);
    const entries = (JSON.parse(await readFile(join(dir, 'oci', 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests.map((d) => d.digest).sort();
    assert.deepEqual(entries, [image, ...direct, sbomSig].map((d) => d.digest).sort());
    const r = await copy('--referrers', `${a.host}/art/app:v1`, `docker-archive:${join(dir, 'app.tar')}:example.test/app:v1`);
    assert.match(r.stderr, /holds images only: 2 referrer\(s\) of the copied manifests, and what refers to them, not written/);
    // skopeo reads the image there (from manifest.json: its config is the image's).
    const config = (await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${join(dir, 'app.tar')}`])).stdout;
    const pushed = JSON.parse((await clientA.repository('art/app').getManifest(image.digest)).raw.toString('utf8')) as { config: Descriptor };
    assert.equal(sha256(config), pushed.config.digest);
  });

  it('--referrers from a source that cannot list them is a usage error', async () => {
    const r = await tarpushCli(['copy', '--referrers', fixtureByName('oci-layout').path, `${b.host}/none/app:v1`], { env: { TARPUSH_CACHE_DIR: join(home, 'cache'), HOME: home } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--referrers: .* cannot list referrers/);
  });
});
