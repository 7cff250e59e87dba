import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestDag } from '../../src/archive/manifest-dag.js';
import type { Digest } from '../../src/image/digest.js';
import type { Descriptor } from '../../src/image/types.js';
import { tarpushError } from './support/assert-error.js';

/**
 * ManifestDag over a graph given as a table (digest → children). Honest sha256 digests
 * cannot form a cycle, so cycles are only reachable this way; the readers get the same
 * guarantees through the same class.
 */

const INDEX = 'application/vnd.oci.image.index.v1+json';
const d = (name: string): Descriptor => ({ mediaType: INDEX, digest: `sha256:${name.padEnd(64, '0')}` as Digest, size: 1 });

interface Node {
  name: string;
  children: Node[];
}

function dagOf(graph: Record<string, string[]>, limits: { maxManifests?: number; maxDepth?: number } = {}) {
  const builds: string[] = [];
  const byDigest = new Map(Object.keys(graph).map((k) => [d(k).digest, k]));
  const dag: ManifestDag<Node> = new ManifestDag(
    'test.tar',
    async (desc, child) => {
      const name = byDigest.get(desc.digest)!;
      builds.push(name);
      const children: Node[] = [];
      for (const c of graph[name]!) children.push(await child(d(c)));
      return { name, children };
    },
    limits,
  );
  return { dag, builds };
}

describe('ManifestDag', () => {
  it('builds each digest once and hands out the same object to every parent', async () => {
    const { dag, builds } = dagOf({ a: ['b', 'c', 'b'], b: ['c'], c: [] });
    const a = await dag.load(d('a'));
    assert.deepEqual(builds, ['a', 'b', 'c']);
    assert.equal(a.children[0], a.children[2]);
    assert.equal(a.children[1], a.children[0]!.children[0]);
    assert.equal(await dag.load(d('b')), a.children[0], 'a second entry point shares the object');
    assert.equal(dag.size, 3);
  });

  it('refuses an index that lists itself, directly or through others, naming the digest', async () => {
    await assert.rejects(dagOf({ a: ['a'] }).dag.load(d('a')), tarpushError('MANIFEST_INVALID', /index sha256:a0+ lists itself/));
    await assert.rejects(
      dagOf({ a: ['b'], b: ['c'], c: ['a'] }).dag.load(d('a')),
      tarpushError('MANIFEST_INVALID', /sha256:a0+ lists itself \(sha256:a0+ → sha256:b0+ → sha256:c0+ → sha256:a0+\)/),
    );
  });

  it('caps the distinct manifests (ARCHIVE_TOO_LARGE), counting shared ones once', async () => {
    const wide = { top: ['x', 'y', 'x', 'y'], x: [], y: [] };
    assert.equal((await dagOf(wide, { maxManifests: 3 }).dag.load(d('top'))).children.length, 4);
    await assert.rejects(dagOf(wide, { maxManifests: 2 }).dag.load(d('top')), tarpushError('ARCHIVE_TOO_LARGE', /more than 2 distinct manifests/));
  });

  it('measures the longest chain, whichever path reaches a shared child first', async () => {
    // top → c2 (short path to a 2-deep chain), then top → a → b → c2.
    const g = { top: ['c2', 'a'], a: ['b'], b: ['c2'], c2: ['c1'], c1: ['c0'], c0: [] };
    await assert.rejects(dagOf(g, { maxDepth: 4 }).dag.load(d('top')), tarpushError('MANIFEST_INVALID', /nested more than 4 deep/));
    assert.ok(await dagOf(g, { maxDepth: 5 }).dag.load(d('top')));
  });
});
