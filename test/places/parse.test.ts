import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { checkTagArgument, destinationTags, parseDestination } from '../../src/places/parse.js';
import { isTarpushError } from '../../src/errors.js';

test('oci: destinations carry a directory and an optional tag', () => {
  assert.deepEqual(parseDestination('oci:/tmp/out:demo'), { kind: 'oci', dir: '/tmp/out', tag: 'demo', text: 'oci:/tmp/out:demo' });
  assert.deepEqual(parseDestination('oci:/tmp/out'), { kind: 'oci', dir: '/tmp/out', tag: undefined, text: 'oci:/tmp/out' });
  assert.deepEqual(parseDestination('ocidir://rel/dir:v1.2'), { kind: 'oci', dir: resolve('rel/dir'), tag: 'v1.2', text: 'ocidir://rel/dir:v1.2' });
});

test('the first colon of an oci: destination ends the directory; what follows must be a tag', () => {
  // As skopeo's oci: transport splits it: a "tag" with a path in it is refused, never folded into the path.
  for (const text of ['oci:/tmp/a:b/c', 'oci:/x/lay:a/../../etc/y', 'oci:/tmp/o:', 'oci:/tmp/o:-x']) {
    assert.throws(() => parseDestination(text), (e: unknown) => isTarpushError(e, 'USAGE') && e.message.includes('not a tag'), text);
  }
});

test('a destination with control characters is refused (it would inject lines into output files)', () => {
  for (const text of ['oci:/tmp/a\nimage=evil', 'reg.example/app\n:1', 'oci:/tmp/\x1b[2J']) {
    assert.throws(() => parseDestination(text), (e: unknown) => isTarpushError(e, 'USAGE') && !e.message.includes('\n'), JSON.stringify(text));
  }
});

test('-t values that are references or archives get a hint', () => {
  assert.throws(() => checkTagArgument('reg.example/app:1'), (e: unknown) => isTarpushError(e, 'USAGE') && /-d reg\.example\/app:1/.test(e.message));
  assert.throws(() => checkTagArgument('img.tar'), (e: unknown) => isTarpushError(e, 'USAGE') && /archive/.test(e.message));
  assert.equal(checkTagArgument('v1.2.3'), 'v1.2.3');
});

test('anything else is a registry reference', () => {
  const d = parseDestination('localhost:5000/team/app:v1');
  assert.equal(d.kind, 'registry');
  if (d.kind !== 'registry') return;
  assert.equal(d.ref.registry, 'localhost:5000');
  assert.equal(d.ref.repository, 'team/app');
  assert.equal(d.ref.tag, 'v1');
});

test('tags: own tag first, extras after, no repeats, latest only as a fallback', () => {
  assert.deepEqual(destinationTags(parseDestination('r.example/a:v1'), ['v1', 'latest', 'x'], 'latest'), ['v1', 'latest', 'x']);
  assert.deepEqual(destinationTags(parseDestination('r.example/a'), [], 'latest'), ['latest']);
  assert.deepEqual(destinationTags(parseDestination('oci:/tmp/o'), ['a'], 'latest'), ['a']);
  // A by-digest destination gets no implicit tag.
  const byDigest = parseDestination(`r.example/a@sha256:${'a'.repeat(64)}`);
  assert.deepEqual(destinationTags(byDigest, [], 'latest'), []);
});

test('an invalid extra tag is a usage error naming the tag', () => {
  assert.throws(
    () => destinationTags(parseDestination('r.example/a'), ['bad tag'], 'latest'),
    (e: unknown) => isTarpushError(e, 'USAGE') && /bad tag/.test(e.message),
  );
});
