/**
 * Generates the push benchmark's image: ~--mb MB of real files from /usr in 3 layers, as a
 * kaniko tarball, an OCI layout archive and a pre-Docker-25 `docker save` archive.
 *
 *   node dist/bench/make-image.js [--mb 1000] [--out DIR] [--force]
 *
 * The result is cached in DIR (default $TMPDIR/tarpush-bench): a second run with the same
 * --mb and the same /usr content only re-walks /usr (a second or two) and exits.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeArchive } from './lib/archive-writer.js';
import {
  ARCHIVE_FORMATS,
  GENERATOR_VERSION,
  imageJsonPath,
  readBenchImage,
  type ArchiveFormat,
  type BenchArchive,
  type BenchImage,
  type BenchLayer,
  type BlobFile,
  type Stamp,
} from './lib/bench-image.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { runChecked } from './lib/child.js';
import { fileDigest } from './lib/file-digest.js';
import {
  OCI_LAYOUT,
  dockerManifest,
  dockerSaveManifestJson,
  dockerSaveRepositories,
  hexOf,
  imageConfig,
  kanikoManifestJson,
  ociIndex,
  ociManifest,
  v1LayerIds,
  v1LayerJson,
} from './lib/image-documents.js';
import { selectLayers } from './lib/layer-selection.js';
import { defaultImageDir } from './lib/paths.js';

const USAGE = `Usage: node dist/bench/make-image.js [--mb 1000] [--out DIR] [--force]

Builds kaniko.tar, oci-archive.tar and docker-save.tar (3 layers of /usr files, ~MB uncompressed)
in DIR (default ${defaultImageDir}); skips the work when DIR already holds the same image.`;

const LAYER_DIRS = ['/usr/bin', '/usr/share', '/usr/lib'];
const KANIKO_REPO_TAG = 'bench.example/bench/kaniko:latest';
const DOCKER_SAVE_REPO_TAG = 'bench.example/bench/docker:latest';
const OCI_REF_NAME = 'v1';

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function step(label: string): () => void {
  const t0 = process.hrtime.bigint();
  process.stderr.write(`make-image: ${label}…\n`);
  return () => process.stderr.write(`make-image:   done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
}

async function blobFile(file: string): Promise<BlobFile> {
  return { file, ...(await fileDigest(file)) };
}

async function textBlob(file: string, text: string): Promise<BlobFile> {
  await writeFile(file, text);
  return blobFile(file);
}

/** skopeo reads each archive back: proves it is a valid image and that the layers are as planned. */
async function checkWithSkopeo(a: BenchArchive, layers: BenchLayer[]): Promise<void> {
  const raw = JSON.parse((await runChecked('skopeo', ['inspect', '--raw', a.skopeoSource], { timeoutMs: 300_000 })).stdout) as {
    layers?: { digest: string }[];
  };
  await runChecked('skopeo', ['inspect', a.skopeoSource], { timeoutMs: 300_000 });
  // docker-archive sources present layers uncompressed (by diff_id); oci-archive as stored.
  const want = a.format === 'oci-archive' ? layers.map((l) => l.gz.digest) : layers.map((l) => l.tar.digest);
  const got = (raw.layers ?? []).map((l) => l.digest);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`skopeo sees layers ${got.join(', ')} in ${a.file}, expected ${want.join(', ')}`);
  }
}

async function main(): Promise<void> {
  const args = benchArgs({ mb: 'string', out: 'string', force: 'boolean' }, USAGE);
  const mb = positiveInt(args.mb, 'mb', 1000);
  const out = path.resolve(typeof args.out === 'string' ? args.out : defaultImageDir);

  let done = step(`choosing files from ${LAYER_DIRS.join(', ')} for ~${mb} MB`);
  const selections = await selectLayers(LAYER_DIRS, mb * 1e6);
  done();
  const stamp: Stamp = {
    generator: GENERATOR_VERSION,
    mb,
    sources: selections.map((s) => ({ dir: s.dir, fileBytes: s.fileBytes, files: s.files, whole: s.whole })),
  };
  const cached = readBenchImage(out);
  if (!args.force && cached && JSON.stringify(cached.stamp) === JSON.stringify(stamp)) {
    process.stderr.write(`make-image: ${out} already holds this image (stamp matches), nothing to do\n`);
    printSummary(cached);
    return;
  }

  await mkdir(out, { recursive: true });
  await rm(imageJsonPath(out), { force: true });
  const blobs = path.join(out, 'blobs');
  await rm(blobs, { recursive: true, force: true });
  await mkdir(blobs);

  done = step('tar of each layer (GNU tar, --sort=name --mtime=@0 --owner=0 --group=0)');
  const tars = await Promise.all(
    selections.map(async (s, i) => {
      const list = path.join(blobs, `layer-${i}.list`);
      const tar = path.join(blobs, `layer-${i}.tar`);
      await writeFile(list, `${s.paths.join('\0')}\0`);
      await runChecked(
        'tar',
        ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', '/', '-cf', tar, '--no-recursion', '--null', '-T', list],
        { timeoutMs: 600_000 },
      );
      await rm(list);
      return tar;
    }),
  );
  done();

  done = step(`gzip -6 of each layer (${os.availableParallelism()} cores)`);
  await Promise.all(tars.map((t) => runChecked('gzip', ['-6', '-n', '-k', '-f', t], { timeoutMs: 1_200_000 })));
  done();

  done = step('sha256 of the layers');
  const layers: BenchLayer[] = await Promise.all(
    tars.map(async (t, i) => ({ dir: selections[i]!.dir, tar: await blobFile(t), gz: await blobFile(`${t}.gz`) })),
  );
  done();

  const diffIds = layers.map((l) => l.tar.digest);
  const gz = layers.map((l) => l.gz);
  const config = await textBlob(path.join(blobs, 'config.json'), imageConfig(LAYER_DIRS, diffIds));
  const dockerMan = await textBlob(path.join(blobs, 'manifest-docker.json'), dockerManifest(config, gz));
  const ociMan = await textBlob(path.join(blobs, 'manifest-oci.json'), ociManifest(config, gz));

  const archivePath = (f: ArchiveFormat): string => path.join(out, `${f}.tar`);

  done = step('kaniko.tar (go-containerregistry tarball layout)');
  await writeArchive(archivePath('kaniko'), {
    order: 'given',
    members: [
      { name: config.digest, file: config.file },
      ...gz.map((g) => ({ name: `${hexOf(g.digest)}.tar.gz`, file: g.file })),
      { name: 'manifest.json', text: kanikoManifestJson(config.digest, KANIKO_REPO_TAG, gz) },
    ],
  });
  done();

  done = step('oci-archive.tar (OCI image layout)');
  await writeArchive(archivePath('oci-archive'), {
    order: 'sorted',
    members: [
      { name: 'oci-layout', text: OCI_LAYOUT },
      { name: 'index.json', text: ociIndex(ociMan, OCI_REF_NAME) },
      ...[ociMan, config, ...gz].map((b) => ({ name: `blobs/sha256/${hexOf(b.digest)}`, file: b.file })),
    ],
  });
  done();

  done = step('docker-save.tar (docker save before Docker 25, uncompressed layers)');
  const ids = v1LayerIds(diffIds);
  await writeArchive(archivePath('docker-save'), {
    order: 'sorted',
    members: [
      { name: `${hexOf(config.digest)}.json`, file: config.file },
      ...ids.flatMap((id, i) => [
        { name: `${id}/VERSION`, text: '1.0' },
        { name: `${id}/json`, text: v1LayerJson(id, ids[i - 1]) },
        { name: `${id}/layer.tar`, file: layers[i]!.tar.file },
      ]),
      { name: 'manifest.json', text: dockerSaveManifestJson(hexOf(config.digest), DOCKER_SAVE_REPO_TAG, ids) },
      { name: 'repositories', text: dockerSaveRepositories(DOCKER_SAVE_REPO_TAG, ids[ids.length - 1]!) },
    ],
  });
  done();

  const archives = {} as Record<ArchiveFormat, BenchArchive>;
  for (const format of ARCHIVE_FORMATS) {
    const file = archivePath(format);
    const { size } = await stat(file);
    const skopeoSource = format === 'oci-archive' ? `oci-archive:${file}:${OCI_REF_NAME}` : `docker-archive:${file}`;
    archives[format] = { format, file, size, skopeoSource };
  }
  archives.kaniko.expectedDigest = dockerMan.digest;
  archives['oci-archive'].expectedDigest = ociMan.digest;

  done = step('skopeo inspect of each archive');
  for (const a of Object.values(archives)) await checkWithSkopeo(a, layers);
  done();

  const image: BenchImage = {
    stamp,
    dir: out,
    layers,
    config,
    dockerManifest: dockerMan,
    ociManifest: ociMan,
    archives,
    uncompressedBytes: layers.reduce((n, l) => n + l.tar.size, 0),
    gzipBytes: layers.reduce((n, l) => n + l.gz.size, 0),
  };
  await writeFile(imageJsonPath(out), `${JSON.stringify(image, null, 2)}\n`);
  printSummary(image);
}

function printSummary(image: BenchImage): void {
  const lines = [
    `bench image in ${image.dir}: ${mib(image.uncompressedBytes)} uncompressed, ${mib(image.gzipBytes)} gzipped`,
    ...image.layers.map((l, i) => `  layer ${i}: ${l.dir}  tar ${mib(l.tar.size)}  gz ${mib(l.gz.size)}  ${l.gz.digest.slice(0, 19)}…`),
    ...Object.values(image.archives).map((a) => `  ${a.format.padEnd(11)} ${a.file}  ${mib(a.size)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`make-image: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
