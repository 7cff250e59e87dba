/**
 * Every archive in ../shared/real-archives (other projects' own test data and real saves,
 * read in place: see its PROVENANCE.md) opens as it should. Per archive: what tarpush
 * inspects (format, names, every image's config digest and diff_ids, foreign layers, notes)
 * is compared with facts computed here independently from the tar bytes (manifest.json or
 * index.json → manifests → configs), and with skopeo where skopeo reads the archive.
 * Archives with nothing to publish exit 2 with a line saying why.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.js';
import { walkTar } from '../corpus/tar-walk.js';
import { repoRoot, skopeoAt, skopeoAvailable } from '../support/fixtures.js';

const shared = join(repoRoot, '..', 'shared', 'real-archives');
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Fact {
  configDigest: string;
  diffIds: string[];
}

/** The regular files of a tar (gunzipped first when gzip), by normalised name; symlinks resolved within the tar. */
function tarFiles(path: string): Map<string, Buffer> {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const w = walkTar(buf);
  const norm = (n: string): string => posix.normalize(n.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  for (const e of w.entries) {
    if (e.type === '0' || e.type === '\0' || e.type === '') files.set(norm(e.name), e.data);
    if (e.type === '2') links.set(norm(e.name), norm(posix.join(posix.dirname(norm(e.name)), e.linkname)));
    if (e.type === '1') links.set(norm(e.name), norm(e.linkname));
  }
  for (const [from, to] of links) if (files.has(to)) files.set(from, files.get(to)!);
  return files;
}

const json = (b: Buffer | undefined): any => (b ? JSON.parse(b.toString('utf8')) : undefined); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Config digest and diff_ids of every image, as the archive's own documents state them (no tarpush code). */
function independentFacts(files: Map<string, Buffer>): Fact[] {
  const index = json(files.get('index.json'));
  const blob = (d: string): Buffer | undefined => files.get(`blobs/sha256/${d.slice(7)}`);
  if (index && Array.isArray(index.manifests) && index.manifests.length > 0) {
    const out: Fact[] = [];
    for (const top of index.manifests) {
      const seen = new Set<string>();
      const walk = (digest: string): void => {
        if (seen.has(digest)) return;
        seen.add(digest);
        const doc = json(blob(digest));
        if (!doc) return; // not carried
        if (Array.isArray(doc.manifests)) for (const c of doc.manifests) walk(c.digest);
        else out.push({ configDigest: doc.config.digest, diffIds: json(blob(doc.config.digest)).rootfs.diff_ids });
      };
      walk(top.digest);
    }
    return out;
  }
  return (json(files.get('manifest.json')) as { Config: string }[]).map((e) => {
    const config = files.get(posix.normalize(e.Config))!;
    return { configDigest: sha256(config), diffIds: json(config).rootfs.diff_ids };
  });
}

interface Inspected {
  format: string;
  images: { repoTags: string[]; refName?: string; carried?: false; config: { digest: string }; layers: { diffId: string; foreign?: true; absent?: true; urls?: string[] }[] }[];
  artifacts: unknown[];
}

async function inspect(path: string, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await main(['inspect', path, ...extra], { stdout, stderr, stdin: new PassThrough(), env: {} });
  return { code, out, err };
}

interface Expectation {
  format?: string;
  /** RepoTags or ref name of each image, in order. */
  names?: string[];
  /** skopeo transports, one per image, when skopeo reads the archive. */
  skopeo?: string[];
  /** Lines tarpush notes on stderr (each a regexp). */
  notes?: RegExp[];
  /** Layers expected foreign: `index of image/index of layer` → absent or present. */
  foreign?: Record<string, 'absent' | 'present'>;
  /** The archive holds nothing to publish: exit 2, this error code on the one line. */
  refused?: RegExp;
}

const E = (p: string): string => join(shared, p);
const expectations: Record<string, Expectation> = {
  'cimage/almostempty.tar': { format: 'docker-save', names: ['emptyimage:latest'], skopeo: ['docker-archive:'] },
  'dive/test-docker-image.tar': { format: 'docker-save', names: ['dive-test:latest'], skopeo: ['docker-archive:'] },
  'dive/test-oci-estargz-image.tar': { format: 'oci-archive', skopeo: ['oci-archive:'] },
  'dive/test-oci-gzip-image.tar': { format: 'oci-archive', skopeo: ['oci-archive:'] },
  'dive/test-oci-uncompressed-image.tar': { format: 'oci-archive', skopeo: ['oci-archive:'] },
  'dive/test-oci-zstd-image.tar': { format: 'oci-archive', skopeo: ['oci-archive:'] },
  'ggcr/v1_mutate_overwritten_file.tar': { format: 'docker-save', skopeo: ['docker-archive:'] },
  'ggcr/v1_mutate_source_image.tar': { format: 'docker-save', skopeo: ['docker-archive:'] },
  'ggcr/v1_mutate_source_image_with_empty_layer_history.tar': {
    format: 'docker-save',
    skopeo: ['docker-archive:'],
    notes: [/6e0b05049ed9c17d02e1a55e80d6599dbfcce7f4f4b022e3c673e685789c470e\.json: the config is not named by its digest; its digest is its content's, sha256:05b5ec12/],
  },
  'ggcr/v1_mutate_whiteout_dir.tar': { format: 'kaniko', names: ['localhost:5000/whiteout:latest'], skopeo: ['docker-archive:'] },
  'ggcr/v1_mutate_whiteout_image.tar': { format: 'docker-save', skopeo: ['docker-archive:'] },
  'ggcr/v1_tarball_foreign.tar': { format: 'kaniko', names: ['gcr.io/foo/bar:latest'], skopeo: ['docker-archive:'], foreign: { '0/1': 'present' } },
  // skopeo: "Some layer tarfiles are missing in the tarball"; go-containerregistry reads it.
  'ggcr/v1_tarball_sparse_foreign.tar': { format: 'kaniko', names: ['gcr.io/foo/bar:latest'], foreign: { '0/1': 'absent' } },
  'ggcr/v1_tarball_no_manifest.tar': { refused: /ARCHIVE_FORMAT_UNKNOWN: .*no manifest\.json and no oci-layout/ },
  'ggcr/v1_tarball_null_manifest.tar': { refused: /MANIFEST_INVALID: .*manifest\.json: must be an array, got null/ },
  'ggcr/v1_tarball_test_image_1.tar': { format: 'docker-save', names: ['bazel/v1/tarball:test_image_1'], skopeo: ['docker-archive:'] },
  // skopeo 1.9's docker-archive does not read a gzipped tarball.
  'ggcr/v1_tarball_test_image_1.tar.gz': { format: 'docker-save', names: ['bazel/v1/tarball:test_image_1'] },
  'ggcr/v1_tarball_test_image_2.tar': { format: 'docker-save', skopeo: ['docker-archive:'] },
  'ggcr/v1_tarball_test_link.tar': {
    format: 'docker-save',
    names: ['bazel/v1/tarball:test_image_1', 'bazel/v1/tarball:test_image_3'],
    skopeo: ['docker-archive:{}:@0', 'docker-archive:{}:@1'],
  },
  'ggcr/v1_tarball_test_load_manifest.tar': { format: 'docker-save', skopeo: ['docker-archive:'] },
  // skopeo: "more than one image in oci". Descriptors that disagree with their manifest are noted, once per manifest.
  'layouts/ggcr_layout_test_index.tar': {
    format: 'oci-archive',
    names: ['1', '2', '3', '4'],
    notes: [
      /eebff607\w+: the descriptor says media type "application\/vnd\.oci\.image\.manifest\.v1\+json", the manifest says "application\/vnd\.docker\.distribution\.manifest\.v2\+json"/,
      /32589985\w+: the descriptor says media type "application\/vnd\.oci\.descriptor\.v1\+json", the manifest says "application\/vnd\.docker\.distribution\.manifest\.v2\+json"/,
      // A "manifest list" without the mediaType field Docker's types require is read (and pushed) as an OCI index.
      /2b29a2b8\w+: the descriptor says "application\/vnd\.docker\.distribution\.manifest\.list\.v2\+json", but the document names no mediaType/,
    ],
  },
  'podman/oci-name-only.tar.gz': { format: 'oci-archive', names: ['pretty-empty:latest'], skopeo: ['oci-archive:'] },
  'podman/oci-non-docker-name.tar.gz': { format: 'oci-archive', names: ['UPPERCASE-IS-INVALID'], skopeo: ['oci-archive:'] },
  'podman/oci-registry-name.tar.gz': { format: 'oci-archive', names: ['example.com/empty:latest'], skopeo: ['oci-archive:'] },
  'podman/oci-unnamed.tar.gz': { format: 'oci-archive', skopeo: ['oci-archive:'] },
};

const archives = existsSync(shared)
  ? readdirSync(shared, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name !== 'PROVENANCE.md')
      .map((d) => posix.relative(shared, join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)))
      .sort()
  : [];

describe('archives real tools wrote (../shared/real-archives)', { skip: archives.length === 0 ? `${shared} is absent: nothing to read` : false }, () => {
  it('every archive there has an expectation here (a new one must be looked at)', () => {
    assert.deepEqual(archives, Object.keys(expectations).sort());
  });

  for (const name of archives) {
    const want = expectations[name] ?? {};
    it(name, async (t) => {
      const path = E(name);
      if (want.refused) {
        const r = await inspect(path);
        assert.equal(r.code, 2, 'exit 2');
        assert.equal(r.err.trim().split('\n').length, 1, 'one line');
        assert.match(r.err, want.refused);
        return;
      }
      const r = await inspect(path, ['--json', '--verify']);
      assert.equal(r.code, 0, r.err);
      const got = JSON.parse(r.out) as Inspected;
      if (want.format) assert.equal(got.format, want.format);
      assert.deepEqual(got.artifacts, []);
      const images = got.images.filter((i) => i.carried !== false);
      const facts = independentFacts(tarFiles(path));
      assert.deepEqual(
        images.map((i) => ({ configDigest: i.config.digest, diffIds: i.layers.map((l) => l.diffId) })),
        facts,
        'config digest and diff_ids of every image',
      );
      if (want.names) assert.deepEqual(images.map((i) => i.refName ?? i.repoTags.join(',')), want.names);
      const notes = r.err.split('\n').filter(Boolean);
      assert.equal(notes.length, want.notes?.length ?? 0, `notes: ${r.err}`);
      for (const n of want.notes ?? []) assert.ok(notes.some((line) => n.test(line)), `a note matching ${n}`);
      images.forEach((im, i) =>
        im.layers.forEach((l, j) => {
          const f = want.foreign?.[`${i}/${j}`];
          assert.equal(l.foreign === true, f !== undefined, `image ${i} layer ${j} foreign`);
          assert.equal(l.absent === true, f === 'absent', `image ${i} layer ${j} absent`);
          if (f) assert.ok(l.urls?.length, 'a foreign layer keeps its urls');
        }),
      );
      if (!want.skopeo || !(await skopeoAvailable())) {
        if (want.skopeo) t.diagnostic('skopeo not installed: not compared');
        return;
      }
      for (const [i, tr] of want.skopeo.entries()) {
        const transport = tr.includes('{}') ? tr.replace('{}', path) : `${tr}${path}`;
        const theirs = await skopeoAt(transport);
        assert.equal(images[i]!.config.digest, theirs.configDigest, `skopeo ${transport}: config digest`);
        assert.deepEqual(images[i]!.layers.map((l) => l.diffId), theirs.diffIds, `skopeo ${transport}: diff_ids`);
      }
    });
  }
});
