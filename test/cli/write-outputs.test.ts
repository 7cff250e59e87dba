import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPaths, writeOutputs } from '../../src/cli/write-outputs.js';
import { isTarpushError } from '../../src/errors.js';
import type { PublishResult } from '../../src/publish/publish.js';

const digest = `sha256:${'d'.repeat(64)}` as const;
const result: PublishResult = {
  digest,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  references: ['localhost:5000/a/b:v1', 'localhost:5000/a/b:latest', `localhost:5000/a/b@${digest}`, 'r.example/c:v1', `r.example/c@${digest}`],
  blobs: [],
  destinations: [
    {
      destination: 'localhost:5000/a/b:v1',
      place: 'localhost:5000/a/b',
      digest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      reference: `localhost:5000/a/b@${digest}`,
      tags: [
        { tag: 'v1', reference: 'localhost:5000/a/b:v1', live: true },
        { tag: 'latest', reference: 'localhost:5000/a/b:latest', live: true },
      ],
    },
    {
      destination: 'r.example/c:v1',
      place: 'r.example/c',
      digest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      reference: `r.example/c@${digest}`,
      tags: [{ tag: 'v1', reference: 'r.example/c:v1', live: true }],
    },
  ],
  image: { index: 0, repoTags: [] },
};

test("kaniko's output files and GITHUB_OUTPUT lines", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  await writeFile(f('gh'), 'earlier=1\n');
  await writeOutputs([result], { digestFile: f('digest'), imageNameWithDigestFile: f('name'), imageNameTagWithDigestFile: f('nametag'), githubOutput: f('gh') });
  assert.equal(await readFile(f('digest'), 'utf8'), digest);
  assert.equal(await readFile(f('name'), 'utf8'), `localhost:5000/a/b@${digest}\nr.example/c@${digest}\n`);
  assert.equal(
    await readFile(f('nametag'), 'utf8'),
    `localhost:5000/a/b:v1@${digest}\nlocalhost:5000/a/b:latest@${digest}\nr.example/c:v1@${digest}\n`,
  );
  const gh = await readFile(f('gh'), 'utf8');
  assert.match(gh, new RegExp(`^earlier=1\ndigest=${digest}\nimage=localhost:5000/a/b@${digest}\nimages<<(tarpush_[0-9a-f]{16})\nlocalhost:5000/a/b@${digest}\nr.example/c@${digest}\n\\1\n$`));
});

test('each destination is written with the digest it holds (an OCI layout holds an OCI manifest)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  const oci = `sha256:${'e'.repeat(64)}` as const;
  const mixed: PublishResult = {
    ...result,
    destinations: [
      result.destinations[0]!,
      { destination: 'oci:/o:v1', place: 'oci:/o', digest: oci, mediaType: 'application/vnd.oci.image.manifest.v1+json', reference: `oci:/o@${oci}`, tags: [{ tag: 'v1', reference: 'oci:/o:v1', live: true }] },
    ],
  };
  await writeOutputs([mixed], { imageNameWithDigestFile: f('name'), imageNameTagWithDigestFile: f('nametag') });
  assert.equal(await readFile(f('name'), 'utf8'), `localhost:5000/a/b@${digest}\noci:/o@${oci}\n`);
  assert.match(await readFile(f('nametag'), 'utf8'), new RegExp(`oci:/o:v1@${oci}\n$`));
});

test('--all: the digest file has one line per image; a tag that is not live is not listed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  const other = `sha256:${'f'.repeat(64)}` as const;
  const second: PublishResult = {
    ...result,
    digest: other,
    destinations: [{ ...result.destinations[0]!, digest: other, reference: `localhost:5000/a/b@${other}`, tags: [{ tag: 'v2', reference: 'localhost:5000/a/b:v2', live: false }] }],
    image: { index: 1, repoTags: [] },
  };
  await writeOutputs([result, second], { digestFile: f('digest'), imageNameTagWithDigestFile: f('nametag') });
  assert.equal(await readFile(f('digest'), 'utf8'), `${digest}\n${other}\n`);
  assert.doesNotMatch(await readFile(f('nametag'), 'utf8'), /:v2@/);
});

test('output paths are checked before anything is published', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(checkOutputPaths({ digestFile: join(dir, 'missing', 'digest') }), (e: unknown) => isTarpushError(e, 'USAGE') && /--digest-file .*does not exist/.test(e.message));
  await assert.rejects(checkOutputPaths({ imageNameWithDigestFile: dir }), (e: unknown) => isTarpushError(e, 'USAGE') && /not a regular file/.test(e.message));
  await checkOutputPaths({ digestFile: join(dir, 'digest'), githubOutput: join(dir, 'gh') });
});

test('Docker Hub in the kaniko name files is index.docker.io/…, as kaniko writes it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tarpush-out-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  const hub: PublishResult = {
    ...result,
    destinations: [
      {
        destination: 'me/app:v1',
        place: 'registry-1.docker.io/me/app',
        digest,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        reference: `registry-1.docker.io/me/app@${digest}`,
        tags: [{ tag: 'v1', reference: 'registry-1.docker.io/me/app:v1', live: true }],
      },
    ],
  };
  await writeOutputs([hub], { imageNameWithDigestFile: f('name'), imageNameTagWithDigestFile: f('nametag') });
  assert.equal(await readFile(f('name'), 'utf8'), `index.docker.io/me/app@${digest}\n`);
  assert.equal(await readFile(f('nametag'), 'utf8'), `index.docker.io/me/app:v1@${digest}\n`);
});
