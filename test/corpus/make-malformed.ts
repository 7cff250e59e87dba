/**
 * The malformed-archive corpus: archives broken in one way each, generated at test time
 * (nothing here is committed). Every case names the TarpushError code a reader must fail
 * with, says in `note` what is wrong and why that code, and carries a machine-checkable
 * `defect` (see defects.ts) so the corpus test can prove each file is broken as claimed.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync, constants as zc } from 'node:zlib';
import type { ErrorCode } from '../../src/errors.js';
import {
  dockerSaveEntries,
  dockerSaveParts,
  gz,
  hexOf,
  imageConfig,
  kanikoEntries,
  kanikoParts,
  layerTar,
  ociEntries,
  ociParts,
  type Json,
  type OciParts,
} from './base-images.js';
import type { Defect } from './defects.js';
import { headerOffsets, paxRecord, pseudoRandom, sha256, sha256hex, tarArchive, tarEnd, tarHeader, type TarEntrySpec } from './tar-bytes.js';

export interface MalformedCase {
  /** unique, file-name safe */
  name: string;
  /** absolute path of the archive (a file, or a directory for OCI layout directory cases) */
  file: string;
  /** the TarpushError code a reader must reject this with (src/errors.ts) */
  expectCode: ErrorCode;
  /** other codes that are an honest answer too, where the defect admits two readings */
  alsoAccept?: ErrorCode[];
  /** the defect shows only when layer bytes are hashed (`verifyImage`), not when opening */
  needsVerify?: true;
  /** what is wrong, and why this code */
  note: string;
  /** what the corpus test checks to prove the defect is there */
  defect: Defect;
}

/** Size over which a JSON entry (manifest.json, index.json, configs) is refused. */
export const JSON_ENTRY_LIMIT = 4 * 1024 * 1024;
/** Uncompressed size of the gzip bomb's single entry. */
export const BOMB_ENTRY_SIZE = 2 * 1024 ** 3;

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const cut = (b: Buffer, n: number): Buffer => Buffer.from(b.subarray(0, n));

type Content = Buffer | { dir: Map<string, Buffer | { symlink: string }> };
type CaseSpec = Omit<MalformedCase, 'file'> & { content: Content; ext?: string };

// ------------------------------------------------------------------------------------------
// small builders
// ------------------------------------------------------------------------------------------

/** kaniko archive with its manifest.json replaced by these bytes. */
function kanikoWithManifest(manifestBytes: Buffer): Buffer {
  return tarArchive(kanikoEntries(kanikoParts(), manifestBytes));
}

/** kaniko archive whose config is replaced (and renamed to the new bytes' digest). */
function kanikoWithConfig(configBytes: Buffer): Buffer {
  const p = kanikoParts();
  p.configBytes = configBytes;
  p.configName = sha256(configBytes);
  p.manifest[0]!.Config = p.configName;
  return tarArchive(kanikoEntries(p));
}

/** OCI archive after replacing one blob's bytes but keeping its name (digest mismatch). */
function withBlob(p: OciParts, hex: string, bytes: Buffer): OciParts {
  const blobs = new Map(p.blobs);
  blobs.set(hex, bytes);
  return { ...p, blobs };
}

function withoutBlob(p: OciParts, hex: string): OciParts {
  const blobs = new Map(p.blobs);
  blobs.delete(hex);
  return { ...p, blobs };
}

/** Same length, one byte changed: the size still matches, only the digest does not. */
function flipByte(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at] = c[at]! ^ 0xff;
  return c;
}

/** Raw deflate stream → gzip member (header with mtime 0, OS unknown; CRC32 + ISIZE trailer). */
function gzipMember(deflate: Buffer, crc: number, isize: number): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(isize % 2 ** 32, 4);
  return Buffer.concat([header, deflate, trailer]);
}

/**
 * A .tar.gz of one entry of `size` zero bytes, a few MB on disk, made without deflating
 * gigabytes: deflate 1 MiB of zeros once with a full flush (so the block stands alone and
 * ends byte-aligned) and repeat it. The CRC of the zeros is advanced with crc32's affine
 * form over GF(2), learnt from 33 crc32 runs over 1 MiB.
 */
function gzipBomb(size: number): Buffer {
  const MiB = 1 << 20;
  if (size % MiB !== 0) throw new Error('bomb size must be whole MiB');
  const zeroMiB = Buffer.alloc(MiB);
  const header = tarHeader({ name: 'zeros.bin', declaredSize: size });
  const end = tarEnd();
  const flushed = (b: Buffer): Buffer => deflateRawSync(b, { level: 9, finishFlush: zc.Z_FULL_FLUSH });
  const zeroBlock = flushed(zeroMiB);
  const deflate = Buffer.concat([flushed(header), ...Array.from({ length: size / MiB }, () => zeroBlock), deflateRawSync(end)]);
  const f = (v: number): number => crc32(zeroMiB, v) >>> 0;
  const f0 = f(0);
  const cols = Array.from({ length: 32 }, (_, i) => (f(2 ** i) ^ f0) >>> 0);
  const step = (v: number): number => {
    let r = f0;
    for (let i = 0; i < 32; i++) if ((v >>> i) & 1) r ^= cols[i]!;
    return r >>> 0;
  };
  let crc = crc32(header) >>> 0;
  for (let i = 0; i < size / MiB; i++) crc = step(crc);
  crc = crc32(end, crc) >>> 0;
  return gzipMember(deflate, crc, header.length + size + end.length);
}

/** docker save archive whose first layer path is replaced by `entries` (links etc.). */
function dockerSaveWithLayer0(layerPath: string, extra: TarEntrySpec[], keepOriginal = false): Buffer {
  const p = dockerSaveParts();
  const original = `${p.layers[0]!.id}/layer.tar`;
  const layers = p.manifest[0]!.Layers as string[];
  layers[0] = layerPath;
  const entries = dockerSaveEntries(p).filter((e) => keepOriginal || e.name !== original);
  return tarArchive([...entries, ...extra]);
}

// ------------------------------------------------------------------------------------------
// the cases
// ------------------------------------------------------------------------------------------

function cases(): CaseSpec[] {
  const out: CaseSpec[] = [];
  const add = (c: CaseSpec): void => {
    out.push(c);
  };

  // ---- not an archive at all ---------------------------------------------------------------
  add({ name: 'empty-file', content: Buffer.alloc(0), expectCode: 'ARCHIVE_EMPTY', note: 'zero bytes', defect: { kind: 'size', bytes: 0 } });
  add({
    name: 'zero-blocks-only',
    content: Buffer.alloc(1024),
    expectCode: 'ARCHIVE_EMPTY',
    alsoAccept: ['ARCHIVE_FORMAT_UNKNOWN'],
    note: 'two zero blocks: a valid end-of-archive marker and no entries, so no image (FORMAT_UNKNOWN accepted: an entry-less tar is also no known format)',
    defect: { kind: 'zero-blocks' },
  });
  add({
    name: 'zero-record-10240',
    content: Buffer.alloc(10240),
    expectCode: 'ARCHIVE_EMPTY',
    alsoAccept: ['ARCHIVE_FORMAT_UNKNOWN'],
    note: 'one 10 KiB record of zeros (what `tar cf x.tar --files-from /dev/null` writes): no entries',
    defect: { kind: 'zero-blocks' },
  });
  add({
    name: 'random-bytes',
    content: pseudoRandom('random-bytes', 8192),
    expectCode: 'ARCHIVE_NOT_TAR',
    note: '8 KiB of pseudo-random bytes: first block has no valid tar checksum and no gzip magic',
    defect: { kind: 'not-tar' },
  });
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from('0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082', 'hex'),
  ]);
  add({ name: 'png-image', content: png, ext: '.png', expectCode: 'ARCHIVE_NOT_TAR', note: 'a 1x1 PNG image (shorter than one tar block)', defect: { kind: 'not-tar' } });
  add({
    name: 'text-file',
    content: Buffer.from('This is not an image archive.\n'.repeat(70)),
    ext: '.txt',
    expectCode: 'ARCHIVE_NOT_TAR',
    note: '2 KiB of plain text: four blocks, none a tar header',
    defect: { kind: 'not-tar' },
  });
  add({
    name: 'zip-file',
    content: Buffer.concat([Buffer.from('PK\u0005\u0006', 'latin1'), Buffer.alloc(18)]),
    ext: '.zip',
    expectCode: 'ARCHIVE_NOT_TAR',
    note: 'an empty zip archive (end-of-central-directory record only)',
    defect: { kind: 'not-tar' },
  });
  add({
    name: 'short-garbage',
    content: Buffer.alloc(511, 0x41),
    expectCode: 'ARCHIVE_NOT_TAR',
    note: '511 bytes of "A": shorter than one header and no ustar magic, so not a cut-off tar either',
    defect: { kind: 'not-tar' },
  });

  // ---- truncation ----------------------------------------------------------------------------
  {
    const p = kanikoParts();
    const entries = kanikoEntries(p);
    const full = tarArchive(entries);
    const off = headerOffsets(entries);
    const manifestLen = entries[3]!.data!.length;
    add({
      name: 'truncated-in-first-header',
      content: cut(full, 300),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a kaniko tar cut 300 bytes into its first header (the ustar magic at 257 is there, so it is a tar, cut short)',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    add({
      name: 'truncated-in-header',
      content: cut(full, off[2]! + 100),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a kaniko tar cut 100 bytes into the header of its second layer',
      defect: { kind: 'all', of: [{ kind: 'tar-problem', problem: 'truncated' }, { kind: 'size', bytes: off[2]! + 100 }] },
    });
    add({
      name: 'truncated-in-layer-data',
      content: cut(full, off[1]! + 512 + Math.floor(p.layers[0]!.data.length / 2)),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a kaniko tar cut in the middle of its first layer data',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    add({
      name: 'truncated-in-manifest-data',
      content: cut(full, off[3]! + 512 + 10),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a kaniko tar cut 10 bytes into manifest.json (the last entry)',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    add({
      name: 'truncated-in-padding',
      content: cut(full, off[3]! + 512 + manifestLen),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'manifest.json data complete but its block padding and the end-of-archive blocks are missing',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    const gzFull = gz(full);
    add({
      name: 'gzip-truncated',
      content: cut(gzFull, Math.floor(gzFull.length * 0.6)),
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a gzipped kaniko tar cut at 60% of the compressed bytes (no gzip trailer)',
      defect: { kind: 'gzip', expect: 'truncated' },
    });
    add({
      name: 'gzip-header-only',
      content: cut(gzFull, 10),
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'only the 10-byte gzip header',
      defect: { kind: 'gzip', expect: 'truncated' },
    });
    const garbage = Buffer.from('this trailer is not a gzip member\n'.repeat(4));
    add({
      name: 'gzip-garbage-trailer',
      content: Buffer.concat([gzFull, garbage]),
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_NOT_TAR',
      alsoAccept: ['ARCHIVE_TRUNCATED'],
      note: 'a complete gzip member followed by bytes that are not another member: a corrupt file (gzip -t complains; Go multistream readers fail on the bad header)',
      defect: { kind: 'gzip', expect: 'trailing-garbage', memberLength: gzFull.length },
    });
    const badCrc = Buffer.from(gzFull);
    badCrc.writeUInt32LE(badCrc.readUInt32LE(badCrc.length - 8) ^ 0xdeadbeef, badCrc.length - 8);
    add({
      name: 'gzip-bad-crc',
      content: badCrc,
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'deflate data intact, CRC32 in the gzip trailer wrong: corrupt compressed archive (no dedicated "corrupt" code; NOT_TAR is the corrupt-container code)',
      defect: { kind: 'gzip', expect: 'bad-crc' },
    });
    // Overwrite a run in the middle of the deflate stream: inflate then either meets an
    // invalid code/distance or produces bytes whose CRC32 disagrees — a data error either way.
    const corrupt = Buffer.from(gzFull);
    const mid = 10 + Math.floor((gzFull.length - 18) / 2);
    corrupt.fill(0xff, mid, mid + 64);
    add({
      name: 'gzip-corrupt-deflate',
      content: corrupt,
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_NOT_TAR',
      alsoAccept: ['ARCHIVE_TRUNCATED'],
      note: '64 bytes in the middle of the deflate stream overwritten with 0xff: inflate fails with a data error',
      defect: { kind: 'gzip', expect: 'corrupt' },
    });
    add({
      name: 'gzip-of-truncated-tar',
      content: gz(cut(full, off[2]! + 700)),
      ext: '.tar.gz',
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a valid gzip stream whose content is a tar cut inside the second layer data',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
  }
  {
    const p = dockerSaveParts();
    const entries = dockerSaveEntries(p);
    const layerIdx = entries.findIndex((e) => e.name.endsWith('/layer.tar'));
    const off = headerOffsets(entries);
    add({
      name: 'truncated-docker-save-mid-layer',
      content: cut(tarArchive(entries), off[layerIdx]! + 512 + 1000),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a docker save archive cut 1000 bytes into its first layer.tar; manifest.json never reached',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    const lying = entries.map((e, i) => (i === layerIdx ? { ...e, declaredSize: 1024 ** 3 } : e));
    add({
      name: 'declared-size-beyond-eof',
      content: tarArchive(lying),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a layer.tar header declares 1 GiB but the file holds a few KiB after it',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
  }
  {
    const p = ociParts();
    const entries = ociEntries(p);
    const idx = entries.findIndex((e) => e.name === `blobs/sha256/${hexOf(p.layerDigests[0]!)}`);
    add({
      name: 'truncated-oci-mid-blob',
      content: cut(tarArchive(entries), headerOffsets(entries)[idx]! + 512 + 100),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'an OCI layout archive cut 100 bytes into a layer blob; index.json never reached',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
  }

  // ---- corrupt tar headers ------------------------------------------------------------------
  {
    const entries = kanikoEntries(kanikoParts());
    const bad = (i: number, patch: Partial<TarEntrySpec>): Buffer => tarArchive(entries.map((e, j) => (j === i ? { ...e, ...patch } : e)));
    add({
      name: 'header-checksum-first',
      content: bad(0, { badChecksum: true }),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'the first header checksum is off by one: not recognisable as a tar',
      defect: { kind: 'not-tar' },
    });
    add({
      name: 'header-checksum-later',
      content: bad(3, { badChecksum: true }),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'the manifest.json header checksum is off by one: corrupt tar header mid-archive',
      defect: { kind: 'tar-problem', problem: 'bad-header' },
    });
    add({
      name: 'size-field-not-octal',
      content: bad(1, { rawSizeField: Buffer.from('zzzzzzzzzzz\0', 'ascii') }),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'a layer header whose size field is "zzzzzzzzzzz" (checksum valid): corrupt header',
      defect: { kind: 'tar-problem', problem: 'bad-header' },
    });
    add({
      name: 'size-field-negative-base256',
      content: bad(1, { rawSizeField: Buffer.alloc(12, 0xff) }),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'a layer header whose size is GNU base-256 -1: corrupt header',
      defect: { kind: 'tar-problem', problem: 'bad-header' },
    });
    const withPax = (paxData: string, at = 1): Buffer =>
      tarArchive([...entries.slice(0, at), { name: 'PaxHeaders.0/layer', type: 'pax', data: Buffer.from(paxData) }, ...entries.slice(at)]);
    add({
      name: 'pax-invalid-size',
      content: withPax(paxRecord('size', '12x4')),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'a pax extended header before a layer with the record "size=12x4"',
      defect: { kind: 'tar-problem', problem: 'bad-header' },
    });
    add({
      name: 'pax-bad-record-length',
      content: withPax('99 path=manifest.json\n'),
      expectCode: 'ARCHIVE_NOT_TAR',
      note: 'a pax record whose length prefix (99) overruns the record and the header data',
      defect: { kind: 'tar-problem', problem: 'bad-header' },
    });
    add({
      name: 'pax-size-beyond-eof',
      content: withPax(paxRecord('size', String(1024 ** 3)), 3),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a pax header gives manifest.json a size of 1 GiB; the file ends long before',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
    const longName = Buffer.from(`${'d'.repeat(150)}/layer.tar\0`);
    const before = tarArchive(entries.slice(0, 3), { end: false });
    add({
      name: 'gnu-longname-truncated',
      content: Buffer.concat([before, tarHeader({ name: '././@LongLink', type: 'gnu-longname', declaredSize: 300 }), longName.subarray(0, 100)]),
      expectCode: 'ARCHIVE_TRUNCATED',
      note: 'a GNU long-name (L) header declaring 300 bytes of name; the file ends after 100',
      defect: { kind: 'tar-problem', problem: 'truncated' },
    });
  }

  // ---- not an image archive / manifest.json shape --------------------------------------------
  {
    const p = kanikoParts();
    add({
      name: 'no-manifest',
      content: tarArchive(kanikoEntries(p).filter((e) => e.name !== 'manifest.json')),
      expectCode: 'ARCHIVE_FORMAT_UNKNOWN',
      note: 'a kaniko tar without manifest.json (and no index.json): a tar, but no image format',
      defect: { kind: 'entries', present: [p.configName], absent: ['manifest.json', 'index.json', 'oci-layout'] },
    });
  }
  add({
    name: 'unrelated-tar',
    content: tarArchive([
      { name: 'project/', type: 'dir' },
      { name: 'project/README.md', data: Buffer.from('# a source tarball\n') },
      { name: 'project/src/main.c', data: Buffer.from('int main(void) { return 0; }\n') },
    ]),
    expectCode: 'ARCHIVE_FORMAT_UNKNOWN',
    note: 'a source tarball: valid tar, no manifest.json / index.json / oci-layout',
    defect: { kind: 'entries', present: ['project/README.md'], absent: ['manifest.json', 'index.json'] },
  });
  {
    const p = kanikoParts();
    const m = p.manifest[0]!;
    const variants: [string, Buffer, string, Defect][] = [
      ['manifest-invalid-json', Buffer.from('[{"Config": "sha256:'), 'manifest.json is cut-off JSON', { kind: 'json-invalid', entry: 'manifest.json' }],
      ['manifest-object-not-array', json(m), 'manifest.json is one object, not an array of objects', { kind: 'json', entry: 'manifest.json', path: [], type: 'object' }],
      ['manifest-layers-not-array', json([{ ...m, Layers: (m.Layers as string[])[0]! }]), 'Layers is a string', { kind: 'json', entry: 'manifest.json', path: [0, 'Layers'], type: 'string' }],
      ['manifest-config-number', json([{ ...m, Config: 42 }]), 'Config is the number 42', { kind: 'json', entry: 'manifest.json', path: [0, 'Config'], type: 'number' }],
      ['manifest-repotags-string', json([{ ...m, RepoTags: 'registry.example/corpus/kaniko:latest' }]), 'RepoTags is a string, not an array', { kind: 'json', entry: 'manifest.json', path: [0, 'RepoTags'], type: 'string' }],
      ['manifest-entry-null', json([null]), 'the one manifest.json entry is null', { kind: 'json', entry: 'manifest.json', path: [0], type: 'null' }],
      ['manifest-layer-name-number', json([{ ...m, Layers: [7, ...(m.Layers as string[]).slice(1)] }]), 'a Layers item is a number', { kind: 'json', entry: 'manifest.json', path: [0, 'Layers', 0], type: 'number' }],
    ];
    for (const [name, bytes, note, defect] of variants) add({ name, content: kanikoWithManifest(bytes), expectCode: 'MANIFEST_INVALID', note, defect });
    add({
      name: 'manifest-empty-array',
      content: kanikoWithManifest(json([])),
      expectCode: 'ARCHIVE_EMPTY',
      alsoAccept: ['IMAGE_NOT_FOUND'],
      note: 'manifest.json is [] — the archive declares no image at all',
      defect: { kind: 'json', entry: 'manifest.json', path: [], length: 0 },
    });
    // Valid JSON, just big: whitespace after the array is allowed by JSON, so only a size
    // bound can refuse it (before the whole entry is read into memory).
    const huge = Buffer.concat([json(p.manifest), Buffer.alloc(JSON_ENTRY_LIMIT + 1024 * 1024, 0x20)]);
    add({
      name: 'manifest-too-large',
      content: kanikoWithManifest(huge),
      expectCode: 'ARCHIVE_TOO_LARGE',
      note: `manifest.json is ${huge.length} bytes (valid JSON padded with spaces), over the ${JSON_ENTRY_LIMIT}-byte JSON entry limit`,
      defect: { kind: 'entry-size', entry: 'manifest.json', min: JSON_ENTRY_LIMIT + 1 },
    });
  }

  // ---- entries missing, configs wrong ---------------------------------------------------------
  {
    const p = kanikoParts();
    add({
      name: 'kaniko-layer-missing',
      content: tarArchive(kanikoEntries(p).filter((e) => e.name !== p.layers[1]!.name)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'manifest.json names a layer entry the tar does not hold',
      defect: { kind: 'entries', present: ['manifest.json'], absent: [p.layers[1]!.name] },
    });
    add({
      name: 'kaniko-config-missing',
      content: tarArchive(kanikoEntries(p).filter((e) => e.name !== p.configName)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'manifest.json names a config entry the tar does not hold',
      defect: { kind: 'entries', present: ['manifest.json'], absent: [p.configName] },
    });
  }
  {
    const p = dockerSaveParts();
    const gone = `${p.layers[1]!.id}/layer.tar`;
    add({
      name: 'docker-save-layer-missing',
      content: tarArchive(dockerSaveEntries(p).filter((e) => e.name !== gone)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'docker save archive: manifest.json names <id>/layer.tar, the directory is there but not the layer',
      defect: { kind: 'entries', present: [`${p.layers[1]!.id}/json`], absent: [gone] },
    });
  }
  {
    const p = kanikoParts();
    const diffIds = p.layers.map((l) => l.diffId);
    const cfg = (edit: (c: { [k: string]: Json }) => void): Buffer => {
      const c = imageConfig(diffIds);
      edit(c);
      return json(c);
    };
    const configCases: [string, Buffer, string, Defect][] = [
      ['config-invalid-json', Buffer.from('{"architecture":"amd64","rootfs":'), 'the config entry is cut-off JSON (its name is the digest of these bytes)', { kind: 'json-invalid', entry: sha256(Buffer.from('{"architecture":"amd64","rootfs":')) }],
      ['config-array-not-object', json([]), 'the config is a JSON array', { kind: 'json', entry: sha256(json([])), path: [], type: 'array' }],
      ['config-no-rootfs', cfg((c) => delete c.rootfs), 'the config has no rootfs', { kind: 'json', entry: sha256(cfg((c) => delete c.rootfs)), path: ['rootfs'], absent: true }],
      ['config-diffids-not-array', cfg((c) => (c.rootfs = { type: 'layers', diff_ids: diffIds[0]! })), 'rootfs.diff_ids is a string', { kind: 'json', entry: sha256(cfg((c) => (c.rootfs = { type: 'layers', diff_ids: diffIds[0]! }))), path: ['rootfs', 'diff_ids'], type: 'string' }],
    ];
    for (const [name, bytes, note, defect] of configCases) add({ name, content: kanikoWithConfig(bytes), expectCode: 'CONFIG_INVALID', note, defect });
    const badSyntax = cfg((c) => (c.rootfs = { type: 'layers', diff_ids: ['sha256:xyz', diffIds[1]!] }));
    add({
      name: 'config-bad-diffid-syntax',
      content: kanikoWithConfig(badSyntax),
      expectCode: 'CONFIG_INVALID',
      alsoAccept: ['MANIFEST_INVALID'],
      note: 'rootfs.diff_ids[0] is "sha256:xyz", not a digest (MANIFEST_INVALID accepted: parseDigest reports it so by default)',
      defect: { kind: 'json', entry: sha256(badSyntax), path: ['rootfs', 'diff_ids', 0], equals: 'sha256:xyz' },
    });
    const oneDiffId = cfg((c) => (c.rootfs = { type: 'layers', diff_ids: [diffIds[0]!] }));
    add({
      name: 'diff-ids-count-mismatch',
      content: kanikoWithConfig(oneDiffId),
      expectCode: 'LAYER_COUNT_MISMATCH',
      note: 'the config lists 1 diff_id, manifest.json 2 layers',
      defect: { kind: 'json', entry: sha256(oneDiffId), path: ['rootfs', 'diff_ids'], length: 1 },
    });
    const wrongDiff = sha256('not the layer');
    const wrongDiffCfg = cfg((c) => (c.rootfs = { type: 'layers', diff_ids: [diffIds[0]!, wrongDiff] }));
    add({
      name: 'diff-id-value-mismatch',
      content: kanikoWithConfig(wrongDiffCfg),
      expectCode: 'DIFF_ID_MISMATCH',
      needsVerify: true,
      note: 'rootfs.diff_ids[1] is not the sha256 of the second layer uncompressed; only hashing the layer shows it',
      defect: { kind: 'content-digest', entry: p.layers[1]!.name, gunzip: true, notEqual: wrongDiff },
    });
    const noLayers = json(imageConfig([]));
    const np = kanikoParts();
    np.configBytes = noLayers;
    np.configName = sha256(noLayers);
    np.layers = [];
    np.manifest = [{ Config: np.configName, RepoTags: ['registry.example/corpus/kaniko:latest'], Layers: [] }];
    add({
      name: 'zero-layer-image',
      content: tarArchive(kanikoEntries(np)),
      expectCode: 'IMAGE_NO_LAYERS',
      note: 'a well-formed image with no layers (diff_ids [] and Layers []): nothing a registry can run',
      defect: { kind: 'json', entry: 'manifest.json', path: [0, 'Layers'], length: 0 },
    });
  }
  {
    // Entry names that claim a digest their bytes do not have.
    const p = kanikoParts();
    const fakeHex = sha256hex('some other layer');
    const layers = p.manifest[0]!.Layers as string[];
    layers[1] = `${fakeHex}.tar.gz`;
    const entries = kanikoEntries(p).map((e) => (e.name === p.layers[1]!.name ? { ...e, name: `${fakeHex}.tar.gz` } : e));
    add({
      name: 'kaniko-layer-name-digest-mismatch',
      content: tarArchive(entries),
      expectCode: 'DIGEST_MISMATCH',
      needsVerify: true,
      note: 'a kaniko layer entry is named <hex>.tar.gz but its bytes hash to another digest; seen only when the layer is hashed',
      defect: { kind: 'content-digest', entry: `${fakeHex}.tar.gz`, notEqual: `sha256:${fakeHex}` },
    });
    const q = kanikoParts();
    const fakeCfg = sha256('some other config');
    q.manifest[0]!.Config = fakeCfg;
    q.configName = fakeCfg;
    add({
      name: 'kaniko-config-name-digest-mismatch',
      content: tarArchive(kanikoEntries(q)),
      expectCode: 'DIGEST_MISMATCH',
      note: 'the config entry is named sha256:<hex> but its bytes hash to another digest; configs are read whole, so this shows on open (go-containerregistry ignores the name; a kaniko digest file would then disagree)',
      defect: { kind: 'content-digest', entry: fakeCfg, notEqual: fakeCfg },
    });
  }

  // ---- unsafe names and links (docker save layout, where links are normal) --------------------
  {
    const p = dockerSaveParts();
    const layer = p.layers[0]!.tar;
    add({
      name: 'entry-dotdot',
      content: dockerSaveWithLayer0('../escape/layer.tar', [{ name: '../escape/layer.tar', data: layer }]),
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      note: 'an entry named ../escape/layer.tar, and manifest.json uses it',
      defect: { kind: 'entries', present: ['../escape/layer.tar'] },
    });
    add({
      name: 'entry-absolute',
      content: dockerSaveWithLayer0('/abs/layer.tar', [{ name: '/abs/layer.tar', data: layer }]),
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      note: 'an entry with an absolute name /abs/layer.tar, and manifest.json uses it',
      defect: { kind: 'entries', present: ['/abs/layer.tar'] },
    });
    add({
      name: 'entry-dotdot-inner',
      content: dockerSaveWithLayer0('a/../../b/layer.tar', [{ name: 'a/../../b/layer.tar', data: layer }]),
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      note: 'an entry a/../../b/layer.tar: normalises to ../b/layer.tar, outside the archive root',
      defect: { kind: 'entries', present: ['a/../../b/layer.tar'] },
    });
    add({
      name: 'manifest-ref-dotdot',
      content: dockerSaveWithLayer0('../../etc/passwd', []),
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      alsoAccept: ['ARCHIVE_ENTRY_MISSING'],
      note: 'manifest.json names ../../etc/passwd as a layer (no such entry): the name must be refused, never looked up on disk',
      defect: { kind: 'json', entry: 'manifest.json', path: [0, 'Layers', 0], equals: '../../etc/passwd' },
    });
    const L = 'linkdir/layer.tar';
    const linkCase = (name: string, target: string, code: ErrorCode, note: string, extra: TarEntrySpec[] = [], linkType: 'symlink' | 'hardlink' = 'symlink'): void =>
      add({
        name,
        content: dockerSaveWithLayer0(L, [{ name: 'linkdir/', type: 'dir' }, { name: L, type: linkType === 'symlink' ? 'symlink' : 'link', linkname: target }, ...extra]),
        expectCode: code,
        note,
        defect: { kind: 'link', entry: L, linkType, target },
      });
    linkCase('symlink-outside', '../../outside.tar', 'ARCHIVE_ENTRY_UNSAFE', 'linkdir/layer.tar is a symlink to ../../outside.tar, which leaves the archive');
    linkCase('symlink-absolute', '/etc/passwd', 'ARCHIVE_ENTRY_UNSAFE', 'linkdir/layer.tar is a symlink to /etc/passwd');
    linkCase('symlink-self', 'layer.tar', 'ARCHIVE_LINK_LOOP', 'linkdir/layer.tar is a symlink to itself');
    linkCase('symlink-dangling', '../missing.tar', 'ARCHIVE_ENTRY_MISSING', 'linkdir/layer.tar is a symlink to ../missing.tar, which is not in the archive');
    linkCase('hardlink-missing', 'nowhere/layer.tar', 'ARCHIVE_ENTRY_MISSING', 'linkdir/layer.tar is a hard link to nowhere/layer.tar, which is not in the archive', [], 'hardlink');
    linkCase('hardlink-outside', '../outside.tar', 'ARCHIVE_ENTRY_UNSAFE', 'linkdir/layer.tar is a hard link to ../outside.tar', [], 'hardlink');
    linkCase('symlink-loop', '../loopb/layer.tar', 'ARCHIVE_LINK_LOOP', 'linkdir/layer.tar → ../loopb/layer.tar → ../linkdir/layer.tar: a two-link loop', [
      { name: 'loopb/', type: 'dir' },
      { name: 'loopb/layer.tar', type: 'symlink', linkname: '../linkdir/layer.tar' },
    ]);
    // 64 links, then the real layer: longer than any sane hop limit (Linux stops at 40).
    const chain: TarEntrySpec[] = [];
    const hops = 64;
    for (let i = 1; i < hops; i++) {
      const next = i + 1 < hops ? `../c${String(i + 1).padStart(2, '0')}/layer.tar` : `../${p.layers[0]!.id}/layer.tar`;
      chain.push({ name: `c${String(i).padStart(2, '0')}/`, type: 'dir' }, { name: `c${String(i).padStart(2, '0')}/layer.tar`, type: 'symlink', linkname: next });
    }
    add({
      name: 'symlink-chain-too-long',
      content: dockerSaveWithLayer0(L, [{ name: 'linkdir/', type: 'dir' }, { name: L, type: 'symlink', linkname: '../c01/layer.tar' }, ...chain], true),
      expectCode: 'ARCHIVE_LINK_LOOP',
      note: `linkdir/layer.tar reaches the real layer through a chain of ${hops} symlinks, over any hop limit (Linux: 40)`,
      defect: { kind: 'all', of: [{ kind: 'link', entry: 'c63/layer.tar', linkType: 'symlink' }, { kind: 'entries', present: [`${p.layers[0]!.id}/layer.tar`] }] },
    });
  }

  // ---- duplicates --------------------------------------------------------------------------------
  {
    const p = kanikoParts();
    const entries = kanikoEntries(p);
    const other = kanikoParts(1);
    add({
      name: 'duplicate-manifest-json',
      content: tarArchive([...entries, { name: 'manifest.json', data: json(other.manifest) }]),
      expectCode: 'ARCHIVE_DUPLICATE_ENTRY',
      note: 'two manifest.json entries with different contents: which image is meant is ambiguous (tar extraction would keep the last)',
      defect: { kind: 'entries', duplicate: ['manifest.json'] },
    });
    add({
      name: 'duplicate-layer-entry',
      content: tarArchive([...entries.slice(0, 2), { name: p.layers[0]!.name, data: gz(layerTar('impostor')) }, ...entries.slice(2)]),
      expectCode: 'ARCHIVE_DUPLICATE_ENTRY',
      note: 'a layer entry name appears twice with different bytes',
      defect: { kind: 'entries', duplicate: [p.layers[0]!.name] },
    });
    add({
      name: 'duplicate-pax-path-nul',
      content: tarArchive([
        ...entries,
        { name: 'PaxHeaders.0/manifest', type: 'pax', data: Buffer.from(paxRecord('path', 'manifest.json\0junk')) },
        { name: 'other.json', data: json(other.manifest) },
      ]),
      expectCode: 'ARCHIVE_DUPLICATE_ENTRY',
      note: 'a second manifest.json hidden behind a pax path "manifest.json\\0junk": GNU tar ends the name at the NUL, so it is a duplicate',
      defect: { kind: 'entries', duplicate: ['manifest.json'] },
    });
    add({
      name: 'duplicate-dot-slash',
      content: tarArchive([...entries, { name: './manifest.json', data: json(other.manifest) }]),
      expectCode: 'ARCHIVE_DUPLICATE_ENTRY',
      note: 'manifest.json and ./manifest.json: the same path once normalised',
      defect: { kind: 'entries', duplicate: ['manifest.json'] },
    });
    const o = ociParts();
    const oe = ociEntries(o);
    const layerName = `blobs/sha256/${hexOf(o.layerDigests[0]!)}`;
    add({
      name: 'duplicate-oci-blob',
      content: tarArchive([...oe, { name: layerName, data: gz(layerTar('impostor')) }]),
      expectCode: 'ARCHIVE_DUPLICATE_ENTRY',
      note: 'an OCI layout archive holding the same blob path twice with different bytes',
      defect: { kind: 'entries', duplicate: [layerName] },
    });
  }

  // ---- gzip as a whole -----------------------------------------------------------------------------
  add({
    name: 'gzip-bomb',
    content: gzipBomb(BOMB_ENTRY_SIZE),
    ext: '.tar.gz',
    expectCode: 'ARCHIVE_TOO_LARGE',
    note: `a ~2 MB .tar.gz whose tar holds one ${BOMB_ENTRY_SIZE}-byte all-zero entry (ratio ~1000:1): the reader must stop at its decompression bound, in bounded time and memory`,
    defect: { kind: 'gzip-bomb', minExpanded: BOMB_ENTRY_SIZE, maxFileSize: 4 * 1024 * 1024 },
  });
  add({
    name: 'gzip-of-text',
    content: gz(Buffer.from('This is not an image archive.\n'.repeat(40))),
    ext: '.tar.gz',
    expectCode: 'ARCHIVE_NOT_TAR',
    note: 'a valid gzip stream of plain text',
    defect: { kind: 'tar-problem', problem: 'not-tar' },
  });
  add({
    name: 'gzip-empty-payload',
    content: gz(Buffer.alloc(0)),
    ext: '.tar.gz',
    expectCode: 'ARCHIVE_EMPTY',
    note: 'a valid gzip stream of zero bytes',
    defect: { kind: 'all', of: [{ kind: 'entries', absent: ['manifest.json'] }, { kind: 'size', bytes: gz(Buffer.alloc(0)).length }] },
  });

  // ---- OCI layout archives ------------------------------------------------------------------------
  {
    const p = ociParts();
    const mhex = hexOf(p.manifestDigest);
    const chex = hexOf(p.configDigest);
    const lhex = hexOf(p.layerDigests[0]!);
    const tarOf = (q: OciParts, omit: string[] = []): Buffer => tarArchive(ociEntries(q, { omit }));
    add({
      name: 'oci-missing-oci-layout',
      content: tarOf(p, ['oci-layout']),
      expectCode: 'LAYOUT_INVALID',
      alsoAccept: ['ARCHIVE_FORMAT_UNKNOWN'],
      note: 'index.json and blobs/ but no oci-layout file (required by the image-layout spec)',
      defect: { kind: 'entries', present: ['index.json'], absent: ['oci-layout'] },
    });
    add({
      name: 'oci-layout-wrong-version',
      content: tarOf({ ...p, ociLayout: Buffer.from('{"imageLayoutVersion":"2.0.0"}') }),
      expectCode: 'LAYOUT_INVALID',
      note: 'oci-layout declares imageLayoutVersion 2.0.0',
      defect: { kind: 'json', entry: 'oci-layout', path: ['imageLayoutVersion'], equals: '2.0.0' },
    });
    add({
      name: 'oci-layout-invalid-json',
      content: tarOf({ ...p, ociLayout: Buffer.from('imageLayoutVersion: 1.0.0') }),
      expectCode: 'LAYOUT_INVALID',
      note: 'oci-layout is not JSON',
      defect: { kind: 'json-invalid', entry: 'oci-layout' },
    });
    add({
      name: 'oci-index-missing',
      content: tarOf(p, ['index.json']),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      alsoAccept: ['LAYOUT_INVALID'],
      note: 'oci-layout and blobs/ but no index.json',
      defect: { kind: 'entries', present: ['oci-layout'], absent: ['index.json'] },
    });
    add({
      name: 'oci-index-invalid-json',
      content: tarOf({ ...p, indexBytes: Buffer.from('{"schemaVersion":2,"manifests":[') }),
      expectCode: 'MANIFEST_INVALID',
      note: 'index.json is cut-off JSON',
      defect: { kind: 'json-invalid', entry: 'index.json' },
    });
    add({
      name: 'oci-index-manifests-not-array',
      content: tarOf({ ...p, index: { ...p.index, manifests: (p.index.manifests as Json[])[0]! } }),
      expectCode: 'MANIFEST_INVALID',
      note: 'index.json "manifests" is an object, not an array',
      defect: { kind: 'json', entry: 'index.json', path: ['manifests'], type: 'object' },
    });
    add({
      name: 'oci-index-empty-manifests',
      content: tarOf({ ...p, index: { ...p.index, manifests: [] } }),
      expectCode: 'ARCHIVE_EMPTY',
      alsoAccept: ['IMAGE_NOT_FOUND'],
      note: 'index.json lists no manifests: the layout holds no image',
      defect: { kind: 'json', entry: 'index.json', path: ['manifests'], length: 0 },
    });
    const ghost = sha256('a manifest that is not here');
    add({
      name: 'oci-index-missing-blob',
      content: tarOf(ociParts({ descriptor: (d) => (d.digest = ghost) })),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'index.json points at a manifest blob the archive does not hold',
      defect: { kind: 'entries', absent: [`blobs/sha256/${hexOf(ghost)}`] },
    });
    const changedManifest = Buffer.concat([p.blobs.get(mhex)!, Buffer.from(' ')]);
    const desc0 = (p.index.manifests as { [k: string]: Json }[])[0]!;
    add({
      name: 'oci-manifest-digest-mismatch',
      content: tarOf({ ...withBlob(p, mhex, changedManifest), index: { ...p.index, manifests: [{ ...desc0, size: changedManifest.length }] } }),
      expectCode: 'DIGEST_MISMATCH',
      note: 'the manifest blob has a trailing space, so its bytes no longer hash to its name (the descriptor size is adjusted, so only the digest is wrong)',
      defect: { kind: 'content-digest', entry: `blobs/sha256/${mhex}`, notEqual: p.manifestDigest },
    });
    add({
      name: 'oci-manifest-size-mismatch',
      content: tarOf(ociParts({ descriptor: (d) => (d.size = (d.size as number) + 1) })),
      expectCode: 'SIZE_MISMATCH',
      note: 'the index.json descriptor of the manifest declares one byte more than the blob has',
      defect: { kind: 'entry-size', entry: `blobs/sha256/${mhex}`, notEqual: p.blobs.get(mhex)!.length + 1 },
    });
    {
      const q = ociParts({ manifest: (m) => ((m.config as { [k: string]: Json }).size = 3) });
      add({
        name: 'oci-config-size-mismatch',
        content: tarOf(q),
        expectCode: 'SIZE_MISMATCH',
        note: 'the manifest declares a 3-byte config; the config blob is longer',
        defect: { kind: 'entry-size', entry: `blobs/sha256/${hexOf(q.configDigest)}`, notEqual: 3 },
      });
    }
    {
      const q = ociParts({ manifest: (m) => ((m.layers as { [k: string]: Json }[])[0]!.size = 1) });
      add({
        name: 'oci-layer-size-mismatch',
        content: tarOf(q),
        expectCode: 'SIZE_MISMATCH',
        note: 'the manifest declares a 1-byte first layer; the blob entry is larger (visible from the tar header alone)',
        defect: { kind: 'entry-size', entry: `blobs/sha256/${hexOf(q.layerDigests[0]!)}`, notEqual: 1 },
      });
    }
    add({
      name: 'oci-layer-digest-mismatch',
      content: tarOf(withBlob(p, lhex, flipByte(p.blobs.get(lhex)!, 20))),
      expectCode: 'DIGEST_MISMATCH',
      needsVerify: true,
      note: 'one byte of a layer blob changed (same size): only hashing the layer shows it',
      defect: { kind: 'content-digest', entry: `blobs/sha256/${lhex}`, notEqual: p.layerDigests[0]! },
    });
    add({
      name: 'oci-config-digest-mismatch',
      content: tarOf(withBlob(p, chex, Buffer.from(p.blobs.get(chex)!.toString().replace('amd64', 'arm64')))),
      expectCode: 'DIGEST_MISMATCH',
      note: 'the config blob says arm64 instead of amd64 (same size): its bytes do not hash to its name; configs are read whole on open',
      defect: { kind: 'content-digest', entry: `blobs/sha256/${chex}`, notEqual: p.configDigest },
    });
    add({
      name: 'oci-layer-missing',
      content: tarOf(withoutBlob(p, lhex)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'the manifest names a layer blob the archive does not hold',
      defect: { kind: 'entries', present: [`blobs/sha256/${mhex}`], absent: [`blobs/sha256/${lhex}`] },
    });
    add({
      name: 'oci-config-missing',
      content: tarOf(withoutBlob(p, chex)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'the manifest names a config blob the archive does not hold',
      defect: { kind: 'entries', present: [`blobs/sha256/${mhex}`], absent: [`blobs/sha256/${chex}`] },
    });
    {
      const unknown = 'application/vnd.example.unknown.v1+json';
      const q = ociParts({ manifest: (m) => (m.mediaType = unknown), descriptor: (d) => (d.mediaType = unknown) });
      add({
        name: 'oci-unknown-manifest-media-type',
        content: tarOf(q),
        expectCode: 'MEDIA_TYPE_UNKNOWN',
        alsoAccept: ['IMAGE_NOT_FOUND'],
        note: `the only manifest has media type ${unknown} (in the descriptor and the blob)`,
        defect: { kind: 'json', entry: 'index.json', path: ['manifests', 0, 'mediaType'], equals: unknown },
      });
    }
    {
      const q = ociParts({ manifest: (m) => ((m.layers as { [k: string]: Json }[])[1]!.mediaType = 'application/x-unknown-layer') });
      add({
        name: 'oci-unknown-layer-media-type',
        content: tarOf(q),
        expectCode: 'MEDIA_TYPE_UNKNOWN',
        note: 'the second layer has media type application/x-unknown-layer',
        defect: { kind: 'json', entry: `blobs/sha256/${hexOf(q.manifestDigest)}`, path: ['layers', 1, 'mediaType'], equals: 'application/x-unknown-layer' },
      });
    }
    {
      // A self-referencing index cannot have a true digest, so the blob stored under D names D.
      const fake = sha256('self-referencing index');
      const loopWithSize = (size: number): Buffer =>
        json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: fake, size }] });
      let loop = loopWithSize(0);
      while (loopWithSize(loop.length).length !== loop.length) loop = loopWithSize(loop.length);
      loop = loopWithSize(loop.length); // the child descriptor's size is the blob's true size
      const idx = withBlob(p, hexOf(fake), loop);
      idx.index = { ...p.index, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: fake, size: loop.length }] };
      add({
        name: 'oci-nested-index-loop',
        content: tarOf(idx),
        expectCode: 'DIGEST_MISMATCH',
        alsoAccept: ['ARCHIVE_LINK_LOOP', 'MANIFEST_INVALID'],
        note: 'index.json → index blob D whose only child is D again. A real loop is impossible with honest digests, so D\'s bytes do not hash to D: checking the digest catches it first; a reader that skips that must still stop (LINK_LOOP / MANIFEST_INVALID)',
        defect: { kind: 'json', entry: `blobs/sha256/${hexOf(fake)}`, path: ['manifests', 0, 'digest'], equals: fake },
      });
    }
    {
      // 100 nested indexes with honest digests, then the image.
      const blobs = new Map(p.blobs);
      let child = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: p.manifestDigest, size: p.blobs.get(mhex)!.length } as { [k: string]: Json };
      for (let i = 0; i < 100; i++) {
        const b = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [child] });
        blobs.set(sha256hex(b), b);
        child = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(b), size: b.length };
      }
      add({
        name: 'oci-index-nesting-too-deep',
        content: tarOf({ ...p, blobs, index: { ...p.index, manifests: [child] } }),
        expectCode: 'MANIFEST_INVALID',
        alsoAccept: ['ARCHIVE_LINK_LOOP'],
        note: 'index.json → 100 nested image indexes (honest digests) → the image: nesting far beyond any real multi-platform image; a reader must bound its recursion',
        defect: { kind: 'index-depth', min: 100 },
      });
    }
    {
      // 10,001 distinct image manifests (one config and layer set, told apart by an
      // annotation) under one index: each is small and honest; together they pass the cap.
      const blobs = new Map(p.blobs);
      const m = JSON.parse(p.blobs.get(mhex)!.toString()) as { [k: string]: Json };
      const children: Json[] = [];
      for (let i = 0; i < 10_001; i++) {
        const b = json({ ...m, annotations: { n: String(i) } });
        blobs.set(sha256hex(b), b);
        children.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(b), size: b.length });
      }
      const top = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: children });
      blobs.set(sha256hex(top), top);
      add({
        name: 'oci-too-many-manifests',
        content: tarOf({ ...p, blobs, index: { ...p.index, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(top), size: top.length }] } }),
        expectCode: 'ARCHIVE_TOO_LARGE',
        note: 'index.json → one index of 10,001 distinct image manifests (honest digests): over the 10,000 manifests an archive may hold, a bound on the work of reading and pushing it',
        defect: { kind: 'distinct-manifests', min: 10_002 },
      });
    }
    const badDigest = (name: string, digest: string, note: string): void =>
      add({
        name,
        content: tarOf(ociParts({ descriptor: (d) => (d.digest = digest) })),
        expectCode: 'MANIFEST_INVALID',
        note,
        defect: { kind: 'json', entry: 'index.json', path: ['manifests', 0, 'digest'], equals: digest },
      });
    badDigest('bad-digest-syntax', 'sha256:xyz', 'the index.json descriptor digest is "sha256:xyz"');
    badDigest('bad-digest-algorithm', `md5:${'0123456789abcdef'.repeat(2)}`, 'the index.json descriptor digest uses md5');
    badDigest('bad-digest-uppercase', `sha256:${mhex.toUpperCase()}`, 'the descriptor digest is in upper-case hex (the OCI grammar is lower-case only)');
    badDigest('bad-digest-path-traversal', 'sha256:../../../../etc/passwd', 'the descriptor digest tries to walk out of blobs/ ("sha256:../../../../etc/passwd")');
    add({
      name: 'oci-descriptor-negative-size',
      content: tarOf(ociParts({ descriptor: (d) => (d.size = -1) })),
      expectCode: 'MANIFEST_INVALID',
      alsoAccept: ['SIZE_MISMATCH'],
      note: 'the index.json descriptor size is -1',
      defect: { kind: 'json', entry: 'index.json', path: ['manifests', 0, 'size'], equals: -1 },
    });
    add({
      name: 'oci-descriptor-size-string',
      content: tarOf(ociParts({ descriptor: (d) => (d.size = String(d.size)) })),
      expectCode: 'MANIFEST_INVALID',
      note: 'the index.json descriptor size is a string',
      defect: { kind: 'json', entry: 'index.json', path: ['manifests', 0, 'size'], type: 'string' },
    });
    const manifestBlob = (bytes: Buffer, name: string, note: string, defect: (hex: string) => Defect, code: ErrorCode = 'MANIFEST_INVALID'): void => {
      const blobs = new Map(p.blobs);
      blobs.delete(mhex);
      blobs.set(sha256hex(bytes), bytes);
      const index = { ...p.index, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length }] };
      add({ name, content: tarOf({ ...p, blobs, index }), expectCode: code, note, defect: defect(sha256hex(bytes)) });
    };
    manifestBlob(Buffer.from('{"schemaVersion":2,"config":'), 'oci-manifest-invalid-json', 'the manifest blob (honest digest) is cut-off JSON', (hex) => ({ kind: 'json-invalid', entry: `blobs/sha256/${hex}` }));
    const m = JSON.parse(p.blobs.get(mhex)!.toString()) as { [k: string]: Json };
    const noConfig = { ...m };
    delete noConfig.config;
    manifestBlob(json(noConfig), 'oci-manifest-no-config', 'the manifest has no config descriptor', (hex) => ({ kind: 'json', entry: `blobs/sha256/${hex}`, path: ['config'], absent: true }));
    manifestBlob(json({ ...m, schemaVersion: 1 }), 'oci-manifest-schema-version-1', 'an OCI manifest with schemaVersion 1', (hex) => ({ kind: 'json', entry: `blobs/sha256/${hex}`, path: ['schemaVersion'], equals: 1 }));
    manifestBlob(json({ ...m, layers: 'none' }), 'oci-manifest-layers-not-array', 'the manifest "layers" is a string', (hex) => ({ kind: 'json', entry: `blobs/sha256/${hex}`, path: ['layers'], type: 'string' }));
    {
      const q = ociParts({ config: (c) => ((c.rootfs as { diff_ids: Json[] }).diff_ids = (c.rootfs as { diff_ids: Json[] }).diff_ids.slice(0, 1)) });
      add({
        name: 'oci-diff-ids-count-mismatch',
        content: tarOf(q),
        expectCode: 'LAYER_COUNT_MISMATCH',
        note: 'the config lists 1 diff_id, the manifest 2 layers',
        defect: { kind: 'json', entry: `blobs/sha256/${hexOf(q.configDigest)}`, path: ['rootfs', 'diff_ids'], length: 1 },
      });
    }
    {
      const bad = Buffer.from('{"architecture":"amd64","os":');
      const blobs = new Map(p.blobs);
      blobs.delete(chex);
      blobs.set(sha256hex(bad), bad);
      const q = ociParts({ manifest: (mm) => ((mm.config as { [k: string]: Json }).digest = sha256(bad)) });
      const mm = JSON.parse(q.blobs.get(hexOf(q.manifestDigest))!.toString()) as { [k: string]: Json };
      (mm.config as { [k: string]: Json }).size = bad.length;
      const mBytes = json(mm);
      blobs.delete(mhex);
      blobs.set(sha256hex(mBytes), mBytes);
      add({
        name: 'oci-config-invalid-json',
        content: tarOf({ ...p, blobs, index: { ...p.index, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(mBytes), size: mBytes.length }] } }),
        expectCode: 'CONFIG_INVALID',
        note: 'the config blob (honest digest and size) is cut-off JSON',
        defect: { kind: 'json-invalid', entry: `blobs/sha256/${sha256hex(bad)}` },
      });
    }
    {
      const entries = ociEntries(withoutBlob(p, lhex));
      entries.push({ name: `blobs/sha256/${lhex}`, type: 'symlink', linkname: '../../../outside.tar.gz' });
      add({
        name: 'oci-blob-symlink-outside',
        content: tarArchive(entries),
        expectCode: 'ARCHIVE_ENTRY_UNSAFE',
        note: 'a layer blob entry is a symlink to ../../../outside.tar.gz, outside the archive',
        defect: { kind: 'link', entry: `blobs/sha256/${lhex}`, linkType: 'symlink', target: '../../../outside.tar.gz' },
      });
    }
  }

  // ---- Docker 25+ docker save -----------------------------------------------------------------
  {
    const p = ociParts({}, 2);
    const lhex = hexOf(p.layerDigests[1]!);
    const manifestJson = json([
      {
        Config: `blobs/sha256/${hexOf(p.configDigest)}`,
        RepoTags: ['example.com/corpus/d25:v1'],
        Layers: p.layerDigests.map((d) => `blobs/sha256/${hexOf(d)}`),
      },
    ]);
    const entries = [...ociEntries(withoutBlob(p, lhex)), { name: 'manifest.json', data: manifestJson }];
    add({
      name: 'docker25-layer-blob-missing',
      content: tarArchive(entries),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'Docker 25 layout: manifest.json and the OCI manifest both name a layer blob that is missing',
      defect: { kind: 'entries', present: ['manifest.json', 'index.json', 'oci-layout'], absent: [`blobs/sha256/${lhex}`] },
    });
  }

  // ---- OCI layout directories ----------------------------------------------------------------
  {
    const p = ociParts();
    const mhex = hexOf(p.manifestDigest);
    const lhex = hexOf(p.layerDigests[0]!);
    const dirOf = (q: OciParts, omit: string[] = []): Content => {
      const files = new Map<string, Buffer>();
      for (const e of ociEntries(q, { omit })) if (e.type !== 'dir') files.set(e.name, e.data!);
      return { dir: files };
    };
    add({
      name: 'dir-missing-oci-layout',
      content: dirOf(p, ['oci-layout']),
      expectCode: 'LAYOUT_INVALID',
      alsoAccept: ['ARCHIVE_FORMAT_UNKNOWN'],
      note: 'an OCI layout directory without its oci-layout file',
      defect: { kind: 'entries', present: ['index.json'], absent: ['oci-layout'] },
    });
    add({
      name: 'dir-missing-index',
      content: dirOf(p, ['index.json']),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      alsoAccept: ['LAYOUT_INVALID'],
      note: 'an OCI layout directory without index.json',
      defect: { kind: 'entries', present: ['oci-layout'], absent: ['index.json'] },
    });
    add({
      name: 'dir-layer-blob-missing',
      content: dirOf(withoutBlob(p, lhex)),
      expectCode: 'ARCHIVE_ENTRY_MISSING',
      note: 'an OCI layout directory whose manifest names a layer blob file that is not there',
      defect: { kind: 'entries', absent: [`blobs/sha256/${lhex}`] },
    });
    const changed = Buffer.from(p.blobs.get(mhex)!.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    const fixedIndex = { ...p.index, manifests: [{ ...((p.index.manifests as Json[])[0] as { [k: string]: Json }), size: changed.length }] };
    add({
      name: 'dir-manifest-digest-mismatch',
      content: dirOf({ ...withBlob(p, mhex, changed), index: fixedIndex }),
      expectCode: 'DIGEST_MISMATCH',
      note: 'an OCI layout directory whose manifest blob file was edited (size fixed in index.json, digest not)',
      defect: { kind: 'content-digest', entry: `blobs/sha256/${mhex}`, notEqual: p.manifestDigest },
    });
    const q = ociParts({ manifest: (mm) => ((mm.layers as { [k: string]: Json }[])[1]!.size = 5) });
    add({
      name: 'dir-layer-size-mismatch',
      content: dirOf(q),
      expectCode: 'SIZE_MISMATCH',
      note: 'an OCI layout directory whose manifest declares 5 bytes for a larger layer blob file',
      defect: { kind: 'entry-size', entry: `blobs/sha256/${hexOf(q.layerDigests[1]!)}`, notEqual: 5 },
    });
    const withLink = { dir: new Map<string, Buffer | { symlink: string }>((dirOf(withoutBlob(p, lhex)) as { dir: Map<string, Buffer> }).dir) };
    withLink.dir.set(`blobs/sha256/${lhex}`, { symlink: '/etc/hostname' });
    // Honest digest and size, but the blob is a symlink to a file beside the layout: only
    // refusing links that leave the layout stops a layout from exporting host files.
    const outside = new Map<string, Buffer | { symlink: string }>((dirOf(withoutBlob(p, lhex)) as { dir: Map<string, Buffer> }).dir);
    outside.set(`blobs/sha256/${lhex}`, { symlink: '../../../dir-blob-symlink-outside.blob' });
    outside.set('../dir-blob-symlink-outside.blob', p.blobs.get(lhex)!);
    add({
      name: 'dir-blob-symlink-outside',
      content: { dir: outside },
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      note: 'an OCI layout directory whose layer blob is a symlink to a file outside the layout, with the right bytes (digest and size match): followed, it would publish any file the link names',
      defect: { kind: 'link', entry: `blobs/sha256/${lhex}`, linkType: 'symlink', target: '../../../dir-blob-symlink-outside.blob' },
    });
    add({
      name: 'dir-blob-symlink-absolute',
      content: withLink,
      expectCode: 'ARCHIVE_ENTRY_UNSAFE',
      alsoAccept: ['DIGEST_MISMATCH', 'SIZE_MISMATCH'],
      note: 'an OCI layout directory whose layer blob is a symlink to /etc/hostname: a layout must not make the reader upload files from elsewhere on the host',
      defect: { kind: 'link', entry: `blobs/sha256/${lhex}`, linkType: 'symlink', target: '/etc/hostname' },
    });
  }
  return out;
}

/** Writes every case into `dir` (which must exist) and returns the cases. */
export async function makeMalformedCorpus(dir: string): Promise<MalformedCase[]> {
  const result: MalformedCase[] = [];
  for (const spec of cases()) {
    const { content, ext, ...rest } = spec;
    const file = join(dir, Buffer.isBuffer(content) ? `${spec.name}${ext ?? '.tar'}` : spec.name);
    if (Buffer.isBuffer(content)) {
      writeFileSync(file, content);
    } else {
      for (const [rel, data] of content.dir) {
        const target = join(file, rel);
        mkdirSync(dirname(target), { recursive: true });
        if (Buffer.isBuffer(data)) writeFileSync(target, data);
        else symlinkSync(data.symlink, target);
      }
    }
    result.push({ ...rest, file });
  }
  return result;
}
