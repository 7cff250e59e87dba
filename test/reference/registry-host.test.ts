import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerConfigKeys, isDockerHub, isLoopbackRegistry, parseRegistry } from '../../src/reference/index.js';
import { isTarpushError } from '../../src/errors.js';

describe('parseRegistry', () => {
  const cases: Array<[string, string]> = [
    ['docker.io', 'registry-1.docker.io'],
    ['index.docker.io', 'registry-1.docker.io'],
    ['registry-1.docker.io', 'registry-1.docker.io'],
    ['Docker.IO', 'registry-1.docker.io'],
    ['https://index.docker.io/v1/', 'registry-1.docker.io'],
    ['localhost:5000', 'localhost:5000'],
    ['localhost', 'localhost'],
    ['quay.io', 'quay.io'],
    ['https://quay.io', 'quay.io'],
    ['http://localhost:5000/v2/', 'localhost:5000'],
    ['myregistry', 'myregistry'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['[::1]:5000', '[::1]:5000'],
    ['[::1]', '[::1]'],
    ['GHCR.io', 'ghcr.io'],
    ['docker.io:443', 'docker.io:443'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.equal(parseRegistry(input), want));
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty host/],
    ['quay.io/org', /without a repository path/],
    ['https://quay.io/org/app', /unexpected path/],
    ['localhost:0', /port "0"/],
    ['localhost:65536', /port "65536"/],
    [':5000', /empty host name/],
    ['fe80::1', /brackets/],
    ['[::1]x', /after the IPv6 address/],
    ['host_name.com', /label "host_name"/],
  ];
  for (const [input, why] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseRegistry(input),
        (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID') && e.message.includes(JSON.stringify(input)) && why.test(e.message),
      );
    });
  }
});

describe('isDockerHub', () => {
  for (const h of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) it(h, () => assert.ok(isDockerHub(h)));
  for (const h of ['quay.io', 'docker.io.example.com', 'localhost:5000']) it(`not ${h}`, () => assert.ok(!isDockerHub(h)));
});

describe('isLoopbackRegistry', () => {
  const cases: Array<[string, boolean]> = [
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.255.3.4:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['128.0.0.1:5000', false],
    ['10.0.0.1:5000', false],
    ['[::2]:5000', false],
    ['localhost.example.com', false],
    ['quay.io', false],
    ['registry-1.docker.io', false],
  ];
  for (const [registry, want] of cases) {
    it(`${registry} → ${want}`, () => assert.equal(isLoopbackRegistry(registry), want));
  }
});

describe('dockerConfigKeys', () => {
  it('Docker Hub: the key docker login writes first, then the aliases', () => {
    const want = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
    assert.deepEqual(dockerConfigKeys('registry-1.docker.io'), want);
    assert.deepEqual(dockerConfigKeys('docker.io'), want);
  });
  it('other registries: host, then URL forms', () => {
    assert.deepEqual(dockerConfigKeys('quay.io'), [
      'quay.io',
      'https://quay.io',
      'http://quay.io',
      'https://quay.io/v1/',
      'https://quay.io/v2/',
    ]);
    assert.deepEqual(dockerConfigKeys('localhost:5000').slice(0, 2), ['localhost:5000', 'https://localhost:5000']);
  });
  it('rejects an invalid registry', () => {
    assert.throws(() => dockerConfigKeys('quay.io/org'), (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID'));
  });
});
