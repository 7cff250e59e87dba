import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatReference,
  parseReference,
  parseRepository,
  referenceEquals,
  repositoryName,
  withDigest,
  withTag,
  type Reference,
} from '../../src/reference/index.js';
import { isTarpushError } from '../../src/errors.js';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const DIGEST = `sha256:${HEX}` as const;

interface Expect {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  formatted: string;
}

const valid: Array<[string, Expect]> = [
  ['alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', formatted: 'registry-1.docker.io/library/alpine' }],
  ['alpine:3', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3', formatted: 'registry-1.docker.io/library/alpine:3' }],
  ['library/alpine:3', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3', formatted: 'registry-1.docker.io/library/alpine:3' }],
  ['docker.io/alpine:3', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3', formatted: 'registry-1.docker.io/library/alpine:3' }],
  ['index.docker.io/library/alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', formatted: 'registry-1.docker.io/library/alpine' }],
  ['registry-1.docker.io/library/alpine:3', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3', formatted: 'registry-1.docker.io/library/alpine:3' }],
  ['registry-1.docker.io/alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', formatted: 'registry-1.docker.io/library/alpine' }],
  ['bitnami/redis:7.2', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7.2', formatted: 'registry-1.docker.io/bitnami/redis:7.2' }],
  ['eu.gcr.io/project/foo:bar', { registry: 'eu.gcr.io', repository: 'project/foo', tag: 'bar', formatted: 'eu.gcr.io/project/foo:bar' }],
  ['eu.gcr.io/project/foo', { registry: 'eu.gcr.io', repository: 'project/foo', formatted: 'eu.gcr.io/project/foo' }],
  ['example.org/path:tag', { registry: 'example.org', repository: 'path', tag: 'tag', formatted: 'example.org/path:tag' }],
  ['example.org:1234/path:tag', { registry: 'example.org:1234', repository: 'path', tag: 'tag', formatted: 'example.org:1234/path:tag' }],
  [`example.org/path@${DIGEST}`, { registry: 'example.org', repository: 'path', digest: DIGEST, formatted: `example.org/path@${DIGEST}` }],
  [`example.org:1234/path@${DIGEST}`, { registry: 'example.org:1234', repository: 'path', digest: DIGEST, formatted: `example.org:1234/path@${DIGEST}` }],
  [`alpine@${DIGEST}`, { registry: 'registry-1.docker.io', repository: 'library/alpine', digest: DIGEST, formatted: `registry-1.docker.io/library/alpine@${DIGEST}` }],
  [`h.io/p:t@${DIGEST}`, { registry: 'h.io', repository: 'p', tag: 't', digest: DIGEST, formatted: `h.io/p:t@${DIGEST}` }],
  ['localhost/foo', { registry: 'localhost', repository: 'foo', formatted: 'localhost/foo' }],
  ['localhost:5000/foo/bar:v1', { registry: 'localhost:5000', repository: 'foo/bar', tag: 'v1', formatted: 'localhost:5000/foo/bar:v1' }],
  ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', repository: 'app', formatted: '127.0.0.1:5000/app' }],
  ['[::1]:5000/app:latest', { registry: '[::1]:5000', repository: 'app', tag: 'latest', formatted: '[::1]:5000/app:latest' }],
  ['[2001:db8::1]/team/app', { registry: '[2001:db8::1]', repository: 'team/app', formatted: '[2001:db8::1]/team/app' }],
  ['Registry.Example.COM/app', { registry: 'registry.example.com', repository: 'app', formatted: 'registry.example.com/app' }],
  ['myhost:80/a/b/c/d', { registry: 'myhost:80', repository: 'a/b/c/d', formatted: 'myhost:80/a/b/c/d' }],
  ['quay.io/org/my_app.v2__x--y:Tag_1.0-rc', { registry: 'quay.io', repository: 'org/my_app.v2__x--y', tag: 'Tag_1.0-rc', formatted: 'quay.io/org/my_app.v2__x--y:Tag_1.0-rc' }],
  ['alpine:_x', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '_x', formatted: 'registry-1.docker.io/library/alpine:_x' }],
  [`alpine:${'t'.repeat(128)}`, { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: 't'.repeat(128), formatted: `registry-1.docker.io/library/alpine:${'t'.repeat(128)}` }],
  // Without "." / ":" / "localhost" the first component is a namespace on Docker Hub.
  ['myhost/app', { registry: 'registry-1.docker.io', repository: 'myhost/app', formatted: 'registry-1.docker.io/myhost/app' }],
  // A 64-hex name is fine once it carries a tag.
  [`${HEX}:1`, { registry: 'registry-1.docker.io', repository: `library/${HEX}`, tag: '1', formatted: `registry-1.docker.io/library/${HEX}:1` }],
];

describe('parseReference: valid references', () => {
  for (const [input, want] of valid) {
    it(`${input.length > 70 ? `${input.slice(0, 70)}…` : input}`, () => {
      const r = parseReference(input);
      assert.equal(r.registry, want.registry);
      assert.equal(r.repository, want.repository);
      assert.equal(r.tag, want.tag);
      assert.equal(r.digest, want.digest);
      assert.equal(r.original, input);
      assert.equal(formatReference(r), want.formatted);
      // the normalised text parses back to the same reference
      assert.ok(referenceEquals(parseReference(want.formatted), r));
    });
  }
});

const longName = `example.com/${'a'.repeat(244)}`; // 256 characters
const invalidCases: Array<[string, RegExp]> = [
  ['', /empty reference/],
  ['Alpine', /must be lowercase/],
  ['quay.io/Org/app', /must be lowercase/],
  ['alpine:', /empty tag/],
  ['alpine@', /empty digest/],
  ['alpine@sha256:abc', /64 lowercase hex/],
  [`alpine@sha256:${HEX.toUpperCase()}`, /lower case/],
  [`alpine@sha512:${'a'.repeat(128)}`, /"sha512" is not supported \(only sha256\)/],
  [`alpine@${HEX}`, /sha256:<64 hex characters>/],
  [`alpine@${DIGEST}@${DIGEST}`, /more than one "@"/],
  ['a//b', /empty component/],
  ['quay.io/', /empty repository name/],
  ['quay.io/org/', /empty component/],
  ['/alpine', /empty component/],
  [`alpine:${'t'.repeat(129)}`, /tag is 129 characters long \(at most 128\)/],
  ['alpine:.x', /must not start with "." or "-"/],
  ['alpine:-x', /must not start with "." or "-"/],
  ['alpine:a+b', /tag "a\+b" may only hold/],
  ['alpine:1:2', /tag "1:2" may only hold/],
  ['quay.io/org/-app', /repository component "-app"/],
  ['quay.io/org/app_', /repository component "app_"/],
  ['quay.io/org/a___b', /repository component "a___b"/],
  ['quay.io/org/a..b', /repository component "a..b"/],
  ['alp ine', /whitespace/],
  [' alpine', /whitespace/],
  [HEX, /image ID/],
  [longName, /256 characters long \(at most 255\)/],
  ['quay.io:99999/app', /port "99999"/],
  ['quay.io:/app', /port ""/],
  ['localhost:abc/app', /port "abc"/],
  ['::1/app', /IPv6 address must be written in brackets/],
  ['[::1/app', /closing "\]"/],
  ['[nothex::zz]:5000/app', /not an IPv6 address/],
  ['-bad.example.com/app', /label "-bad"/],
  ['bad..example.com/app', /empty label/],
  ['a$b.com/app', /label "a\$b"/],
];

describe('parseReference: invalid references', () => {
  for (const [input, why] of invalidCases) {
    it(`rejects ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (e: unknown) => {
          assert.ok(isTarpushError(e, 'REFERENCE_INVALID'), `expected REFERENCE_INVALID, got ${String(e)}`);
          assert.ok(e.message.includes(JSON.stringify(input)), `message quotes the input: ${e.message}`);
          assert.match(e.message, why);
          return true;
        },
      );
    });
  }
  it('has more than 15 invalid cases', () => assert.ok(invalidCases.length >= 15));
});

describe('image reference behaviour of a Python OCI client, ported', () => {
  it('keeps the text the user wrote', () => {
    assert.equal(parseReference('alpine:3').original, 'alpine:3');
    assert.equal(parseReference('eu.gcr.io/example/foo').original, 'eu.gcr.io/example/foo');
  });
  it('reads the tag, and reads a digest instead of a tag after "@"', () => {
    assert.equal(parseReference('alpine:3').tag, '3');
    for (const input of [`example.org/path@${DIGEST}`, `example.org:1234/path@${DIGEST}`]) {
      const r = parseReference(input);
      assert.equal(r.tag, undefined);
      assert.equal(r.digest, DIGEST);
    }
  });
  it('normalises a Docker Hub short name and leaves other registries alone', () => {
    assert.equal(formatReference(parseReference('alpine:3')), 'registry-1.docker.io/library/alpine:3');
    assert.equal(formatReference(parseReference('eu.gcr.io/project/foo:bar')), 'eu.gcr.io/project/foo:bar');
    assert.equal(formatReference(parseReference('eu.gcr.io/project/foo')), 'eu.gcr.io/project/foo');
  });
  it('treats a short name and its normalised form as equal, and different repos as different', () => {
    const short = parseReference('alpine:3');
    const long = parseReference('registry-1.docker.io/library/alpine:3');
    assert.ok(referenceEquals(short, long));
    assert.ok(referenceEquals(short, short));
    assert.ok(referenceEquals(long, long));
    assert.ok(!referenceEquals(short, parseReference('example.org/path:tag1')));
  });
  it('names the repository without registry, like docker-cli', () => {
    assert.equal(parseReference('example.org/path:tag').repository, 'path');
    assert.equal(parseReference(`example.org/path@${DIGEST}`).repository, 'path');
    assert.equal(parseReference('example.org:1234/path:tag').repository, 'path');
    assert.equal(parseReference('alpine:3').repository, 'library/alpine');
  });
  it('gives the reference without its tag', () => {
    assert.equal(repositoryName(parseReference('example.org/path:tag')), 'example.org/path');
    assert.equal(repositoryName(parseReference(`example.org/path@${DIGEST}`)), 'example.org/path');
    assert.equal(repositoryName(parseReference('example.org:1234/path:tag')), 'example.org:1234/path');
    assert.equal(repositoryName(parseReference('alpine:3')), 'registry-1.docker.io/library/alpine');
  });
  it('splits a digest into algorithm and hex; a tag-only reference has no digest', () => {
    assert.equal(parseReference('alpine:3').digest, undefined);
    for (const input of [`example.org/path@${DIGEST}`, `alpine@${DIGEST}`]) {
      const [algorithm, hex] = parseReference(input).digest!.split(':');
      assert.equal(algorithm, 'sha256');
      assert.equal(hex, HEX);
    }
  });
  it('gives the registry host with its port', () => {
    assert.equal(parseReference('example.org/path:tag').registry, 'example.org');
    assert.equal(parseReference(`example.org/path@${DIGEST}`).registry, 'example.org');
    assert.equal(parseReference('example.org:1234/path:tag').registry, 'example.org:1234');
    assert.equal(parseReference(`example.org:1234/path@${DIGEST}`).registry, 'example.org:1234');
    assert.equal(parseReference('alpine:3').registry, 'registry-1.docker.io');
  });
  it('prints as its normalised form', () => {
    assert.equal(formatReference(parseReference('alpine:3')), 'registry-1.docker.io/library/alpine:3');
  });
});

describe('parseReference: defaultTag', () => {
  it('applies when neither tag nor digest is written', () => {
    assert.equal(parseReference('alpine', { defaultTag: 'latest' }).tag, 'latest');
    assert.equal(formatReference(parseReference('alpine', { defaultTag: 'latest' })), 'registry-1.docker.io/library/alpine:latest');
  });
  it('does not replace a written tag', () => {
    assert.equal(parseReference('alpine:3', { defaultTag: 'latest' }).tag, '3');
  });
  it('is not applied when a digest is present', () => {
    const r = parseReference(`alpine@${DIGEST}`, { defaultTag: 'latest' });
    assert.equal(r.tag, undefined);
    assert.equal(r.digest, DIGEST);
  });
  it('without it, no tag is invented', () => {
    assert.equal(parseReference('alpine').tag, undefined);
  });
  it('an invalid default tag is rejected', () => {
    assert.throws(() => parseReference('alpine', { defaultTag: '-x' }), (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID'));
  });
});

describe('parseRepository', () => {
  const cases: Array<[string, string, string]> = [
    ['alpine', 'registry-1.docker.io', 'library/alpine'],
    ['docker.io/library/alpine', 'registry-1.docker.io', 'library/alpine'],
    ['localhost:5000/foo', 'localhost:5000', 'foo'],
    ['quay.io/org/app', 'quay.io', 'org/app'],
    ['[::1]:5000/a/b', '[::1]:5000', 'a/b'],
  ];
  for (const [input, registry, repository] of cases) {
    it(`${input} → ${registry}/${repository}`, () => {
      assert.deepEqual(parseRepository(input), { registry, repository });
    });
  }
  for (const input of ['alpine:3', `alpine@${DIGEST}`, `quay.io/a:b@${DIGEST}`, 'Alpine', '']) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(
        () => parseRepository(input),
        (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID') && e.message.includes(JSON.stringify(input)),
      );
    });
  }
  it('says a tag is not allowed', () => {
    assert.throws(() => parseRepository('alpine:3'), /without tag is expected/);
    assert.throws(() => parseRepository(`alpine@${DIGEST}`), /without digest is expected/);
  });
});

describe('withTag / withDigest / referenceEquals', () => {
  const base = parseReference('quay.io/org/app:v1');
  it('withTag replaces the tag and normalises original', () => {
    const r = withTag(base, 'v2');
    assert.equal(r.tag, 'v2');
    assert.equal(r.original, 'quay.io/org/app:v2');
    assert.equal(base.tag, 'v1', 'the source reference is not changed');
  });
  it('withDigest keeps the tag; withTag keeps the digest', () => {
    const pinned = withDigest(base, DIGEST);
    assert.equal(formatReference(pinned), `quay.io/org/app:v1@${DIGEST}`);
    assert.equal(formatReference(withTag(pinned, 'v3')), `quay.io/org/app:v3@${DIGEST}`);
    assert.equal(formatReference(withDigest(parseReference('alpine'), DIGEST)), `registry-1.docker.io/library/alpine@${DIGEST}`);
  });
  it('validates the new tag and digest', () => {
    assert.throws(() => withTag(base, ''), (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID') && /empty tag/.test(e.message));
    assert.throws(() => withTag(base, 'x'.repeat(200)), /at most 128/);
    assert.throws(() => withDigest(base, 'sha256:zz'), (e: unknown) => isTarpushError(e, 'REFERENCE_INVALID'));
    assert.throws(() => withDigest(base, `md5:${'a'.repeat(32)}`), /"md5" is not supported/);
  });
  it('references are frozen', () => {
    assert.ok(Object.isFrozen(base));
    assert.throws(() => {
      (base as { tag?: string }).tag = 'x';
    });
  });
  const pairs: Array<[string, string, boolean]> = [
    ['alpine', 'docker.io/library/alpine', true],
    ['alpine', 'index.docker.io/alpine', true],
    ['alpine', 'alpine:latest', false],
    ['quay.io/a:1', 'QUAY.IO/a:1', true],
    ['quay.io/a:1', 'quay.io:443/a:1', false],
    [`quay.io/a@${DIGEST}`, `quay.io/a:1@${DIGEST}`, false],
    ['quay.io/a:1', 'quay.io/b:1', false],
  ];
  for (const [a, b, eq] of pairs) {
    it(`${a} ${eq ? '==' : '!='} ${b.slice(0, 50)}`, () => {
      const ra: Reference = parseReference(a);
      const rb: Reference = parseReference(b);
      assert.equal(referenceEquals(ra, rb), eq);
      assert.equal(referenceEquals(rb, ra), eq);
    });
  }
});
