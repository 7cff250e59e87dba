import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutputs } from '../../src/cli/write-outputs.js';
import type { PublishResult } from '../../src/publish/publish.js';

const digest = `sha256:${'d'.repeat(64)}` as const;
const result: PublishResult = {
  digest,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  references: ['localhost:5000/a/b:v1', 'localhost:5000/a/b:latest', `localhost:5000/a/b@${digest}`, 'r.example/c:v1', `r.example/c@${digest}`],
  blobs: [],
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
  assert.equal(await readFile(f('gh'), 'utf8'), `earlier=1\ndigest=${digest}\nimage=localhost:5000/a/b@${digest}\n`);
});
