/**
 * One conformance suite, every sink: the cases of sink-cases.ts run against each place that
 * receives images. Where the places differ, the table says how, and the cases check that:
 *
 * | sink            | wrong digest/size | manifest before its blobs          | commit step | read back with            |
 * |-----------------|-------------------|------------------------------------|-------------|---------------------------|
 * | memory          | refused           | refused (MANIFEST_BLOB_UNKNOWN)    | yes         | its own maps              |
 * | registry        | refused           | refused (MANIFEST_BLOB_UNKNOWN)    | no          | registry source           |
 * | oci (layout)    | refused           | accepted: a manifest is a file     | no          | oci: source               |
 * | oci-archive     | refused, poisons  | at close: ARCHIVE_ENTRY_MISSING    | yes         | oci-archive: source       |
 * | docker-archive  | refused, poisons  | at close: ARCHIVE_ENTRY_MISSING    | yes         | docker-archive: source    |
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before } from 'node:test';
import { selectImages } from '../../src/archive/select.js';
import { sha256 } from '../../src/image/digest.js';
import { openLayout } from '../../src/ocidir/index.js';
import { openSource } from '../../src/places/open-source.js';
import { parsePlace } from '../../src/places/parse.js';
import { RegistryClient, type ClientOptions } from '../../src/registry/index.js';
import { DockerArchiveSink, OciArchiveSink } from '../../src/tarball/index.js';
import { FAST } from '../registry/helpers.js';
import { MemorySink } from '../support/memory-sink.js';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { sinkConformance, type ReadBack } from './sink-cases.js';

let root: string;
let reg: RegistryHandle;
let clientOpts: ClientOptions;
let client: RegistryClient;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarpush-conformance-'));
  reg = await startRegistry();
  clientOpts = { ...FAST, homeDir: root, env: {} };
  client = new RegistryClient(reg.host, clientOpts);
});
after(async () => {
  await client?.close();
  await reg?.stop();
  await rm(root, { recursive: true, force: true });
});

const tempDir = () => mkdtemp(join(root, 'case-'));

/** Read a place back through the source that reads it (src/places/open-source.ts). */
async function readVia(text: string): Promise<ReadBack> {
  const src = await openSource(parsePlace(text, 'source'), { client: clientOpts });
  try {
    const [picked] = selectImages(src, src.selects !== undefined ? { image: src.selects } : {});
    const item = picked!.root;
    assert.equal(item.kind, 'image', `${text} reads back as an image`);
    if (item.kind !== 'image') throw new Error('unreachable');
    return { digest: item.digest, raw: item.rawManifest, config: item.rawConfig, layers: await Promise.all(item.layers.map((l) => buffer(l.source.open()))) };
  } finally {
    await src.close();
  }
}

async function imagesIn(text: string): Promise<number> {
  const src = await openSource(parsePlace(text, 'source'));
  try {
    return src.images.length;
  } finally {
    await src.close();
  }
}

const besides = async (dir: string, name: string) => (await readdir(dir)).filter((n) => n !== name);
const tarRefused = ['DIGEST_MISMATCH', 'SIZE_MISMATCH'];

sinkConformance({
  name: 'memory',
  manifestBeforeBlobs: 'refused',
  commit: true,
  failedPutPoisons: false,
  refusalCodes: tarRefused,
  tempDir,
  async open() {
    const sink = new MemorySink({ commitStep: true });
    return {
      sink,
      async readBack(tag) {
        const digest = sink.visibleTags().get(tag);
        assert.ok(digest, `memory place has tag ${tag}`);
        const raw = sink.manifests.get(digest)!.raw;
        const m = JSON.parse(raw.toString('utf8')) as { config: { digest: `sha256:${string}` }; layers: Array<{ digest: `sha256:${string}` }> };
        assert.equal(sha256(raw), digest);
        return { digest, raw, config: sink.blobs.get(m.config.digest)!, layers: m.layers.map((l) => sink.blobs.get(l.digest)!) };
      },
      imageCount: async () => new Set(sink.visibleTags().values()).size,
      committed: async () => sink.state === 'closed' && sink.visibleTags().size > 0,
      // Once given up, nothing of what was put may remain.
      leftovers: async () => (sink.state === 'closed' ? [] : [...sink.blobs.keys(), ...sink.manifests.keys()]),
    };
  },
});

let repoCount = 0;
sinkConformance({
  name: 'registry',
  manifestBeforeBlobs: 'refused',
  commit: false,
  failedPutPoisons: false,
  refusalCodes: ['REGISTRY_DIGEST_MISMATCH', 'SIZE_MISMATCH'],
  tempDir,
  async open() {
    const name = `conformance/r${++repoCount}`;
    const sink = client.repository(name);
    return { sink, readBack: (tag) => readVia(`${reg.host}/${name}:${tag}`) };
  },
});

sinkConformance({
  name: 'oci layout directory',
  manifestBeforeBlobs: 'accepted',
  commit: false,
  failedPutPoisons: false,
  refusalCodes: tarRefused,
  tempDir,
  async open(dir) {
    const sink = await openLayout(dir, { create: true });
    return { sink, readBack: (tag) => readVia(`oci:${dir}:${tag}`), imageCount: async () => new Set((await sink.entries()).map((e) => e.digest)).size };
  },
});

sinkConformance({
  name: 'oci-archive',
  manifestBeforeBlobs: 'at-close',
  commit: true,
  failedPutPoisons: true,
  refusalCodes: tarRefused,
  tempDir,
  async open(dir) {
    const file = join(dir, 'out.tar');
    const sink = await OciArchiveSink.create(file);
    return {
      sink,
      readBack: (tag) => readVia(`oci-archive:${file}:${tag}`),
      imageCount: () => imagesIn(`oci-archive:${file}`),
      committed: async () => existsSync(file),
      leftovers: () => besides(dir, 'out.tar'),
    };
  },
});

sinkConformance({
  name: 'docker-archive',
  manifestBeforeBlobs: 'at-close',
  commit: true,
  failedPutPoisons: true,
  refusalCodes: tarRefused,
  tempDir,
  async open(dir) {
    const file = join(dir, 'out.tar');
    const sink = await DockerArchiveSink.create(file, { repository: 'example.test/app' });
    return {
      sink,
      readBack: (tag) => readVia(`docker-archive:${file}:example.test/app:${tag}`),
      imageCount: () => imagesIn(`docker-archive:${file}`),
      committed: async () => existsSync(file),
      leftovers: () => besides(dir, 'out.tar'),
    };
  },
});
