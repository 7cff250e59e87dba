import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseRepoTag, sameRepoTag } from '../../src/archive/repo-tag.js';
import { ggcrName, normaliseName, parseReference } from '../../src/reference/index.js';

/** One reading of Docker names: archive RepoTags and references agree (reference/ is its home). */
describe('normaliseName: archive repo tags and parseReference agree', () => {
  it('an upper-case first component is a registry host, as in distribution/reference (case-insensitive)', () => {
    assert.equal(parseReference('Registry.Example/app:1').registry, 'registry.example');
    assert.equal(parseReference('MyHost/app:1').registry, 'myhost');
    assert.equal(parseReference('MyHost/app:1').repository, 'app');
    assert.ok(sameRepoTag('Registry.Example/app:1', 'registry.example/app:1'));
    assert.ok(sameRepoTag('REG.EXAMPLE:5000/app', 'reg.example:5000/app:latest'));
  });
  it('every Docker Hub spelling is one name, docker.io as the docker CLI prints it', () => {
    for (const n of ['alpine', 'alpine:latest', 'library/alpine', 'docker.io/library/alpine', 'index.docker.io/library/alpine:latest', 'registry-1.docker.io/library/alpine', 'DOCKER.IO/library/alpine']) {
      assert.equal(normaliseName(n), 'docker.io/library/alpine:latest', n);
    }
    assert.equal(normaliseRepoTag, normaliseName);
  });
  it('names that are no reference compare as written', () => {
    assert.equal(normaliseName(' not a ref '), 'not a ref');
    assert.ok(!sameRepoTag('UPPER', 'upper'));
  });
  it('ggcrName: Docker Hub as go-containerregistry prints it, others unchanged', () => {
    assert.equal(ggcrName('registry-1.docker.io/library/alpine:3'), 'index.docker.io/library/alpine:3');
    assert.equal(ggcrName('quay.io/a/b:1'), 'quay.io/a/b:1');
    assert.equal(ggcrName('oci:/dir@sha256:x'), 'oci:/dir@sha256:x');
  });
});
