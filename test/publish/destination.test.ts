import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { destinationTags, parseDestination } from '../../src/publish/destination.js';
import { isTarpushError } from '../../src/errors.js';

test('oci: destinations carry a directory and an optional tag', () => {
  assert.deepEqual(parseDestination('oci:/tmp/out:demo'), { kind: 'oci', dir: '/tmp/out', tag: 'demo', text: 'oci:/tmp/out:demo' });
  assert.deepEqual(parseDestination('oci:/tmp/out'), { kind: 'oci', dir: '/tmp/out', tag: undefined, text: 'oci:/tmp/out' });
  assert.deepEqual(parseDestination('ocidir://rel/dir:v1.2'), { kind: 'oci', dir: resolve('rel/dir'), tag: 'v1.2', text: 'ocidir://rel/dir:v1.2' });
});

test('a colon inside an oci: path is not a tag', () => {
  const d = parseDestination('oci:/tmp/a:b/c');
  assert.equal(d.kind, 'oci');
  assert.equal(d.kind === 'oci' && d.dir, '/tmp/a:b/c');
  assert.equal(d.kind === 'oci' && d.tag, undefined);
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
