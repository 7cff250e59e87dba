import { createReadStream, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import { TarpushError } from '../errors.js';
import { ARCHIVE_MAGIC_BYTES, detectArchiveCompression, type ArchiveCompression } from '../compress/detect.js';
import type { Archive, ArchiveFormat, ArchiveImage } from '../image/types.js';
import { detectFormat } from './detect-format.js';
import { dirFiles, readHead, tarFiles, withNotes, type ArchiveFiles } from './files.js';
import { readDockerSave } from './formats/docker-save.js';
import { readDockerSaveOci } from './formats/docker-save-oci.js';
import { readKaniko } from './formats/kaniko.js';
import { OCI_LAYOUT, readOciArchive } from './formats/oci-layout.js';
import { printable } from '../util/printable.js';
import { removeStaleSpools, spool, type Spooled } from './spool.js';
import { indexTar } from './tar-index.js';

export interface OpenArchiveOptions {
  /** What `-` reads (default: process.stdin). */
  stdin?: Readable;
  /** Where stdin / gzipped input is spooled (default: os.tmpdir(), i.e. TMPDIR). */
  tmpDir?: string;
  /** Cap on spooled bytes after decompression (ARCHIVE_TOO_LARGE above it). */
  maxSpoolBytes?: number;
  /** Largest decompression ratio accepted past 64 MiB of output (default 200). */
  maxSpoolRatio?: number;
  /**
   * Told, as one line each, of what the user should know about: a wait (a FIFO nobody writes
   * to yet: opening it blocks until a writer comes), and leniency (something the archive did
   * not say quite right and was read anyway, each said once). The CLI prints them.
   */
  onNote?: (message: string) => void;
  /** How long a FIFO open may wait before onNote hears of it (default 2000 ms). */
  fifoNoteAfterMs?: number;
}

export const FIFO_NOTE_AFTER_MS = 2000;

/**
 * Open an image archive: a tar file (kaniko, docker save, OCI layout), the same compressed
 * as a whole (gzip, zstd, xz, bzip2: detected by magic bytes),
 * an OCI layout directory, `-` for stdin, or a pipe, FIFO or character device (`<(docker
 * save app)`, which is /dev/fd/63), read once like stdin. Everything structural is
 * validated here; layer bytes are not read (except gzip layers of docker-save archives
 * whose digest nothing states). Close the archive to remove a spooled temp file.
 */
export async function openArchive(path: string, opts: OpenArchiveOptions = {}): Promise<Archive> {
  await removeStaleSpools(opts.tmpDir);
  if (path === '-') return fromStream(path, 'stdin', opts.stdin ?? process.stdin, opts);
  // The path names the archive in every message; escaped once here (a file name may hold anything).
  const label = printable(path);

  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    throw new TarpushError('ARCHIVE_UNREADABLE', `cannot open ${label}: ${printable((err as Error).message)}`, { file: path }, { cause: err });
  }
  // Not seekable: positioned reads would fail with ESPIPE. Spool them like stdin.
  if (st.isFIFO() || st.isCharacterDevice()) return fromStream(path, label, await openUnseekable(path, label, st, opts), opts);
  if (st.isDirectory()) {
    const files = withNotes(dirFiles(path), opts.onNote);
    if (!(await files.exists(OCI_LAYOUT))) {
      throw new TarpushError('ARCHIVE_FORMAT_UNKNOWN', `${label} is a directory but not an OCI image layout (no oci-layout file)`, { file: path });
    }
    return archive(path, 'oci-dir', 'none', await readOciArchive(files), async () => {});
  }

  // A compressed archive is decompressed once into a spool file (layers are then byte ranges of it).
  const head = await readHead({ name: path, file: path, offset: 0, size: st.size, location: label }, ARCHIVE_MAGIC_BYTES);
  if (detectArchiveCompression(head) !== 'none') return fromStream(path, label, createReadStream(path, { highWaterMark: 1 << 20 }), opts);
  const index = await indexTar(path, { label });
  const files = withNotes(tarFiles(index), opts.onNote);
  try {
    const { format, images } = await readTar(files);
    return archive(path, format, 'none', images, () => files.close());
  } catch (err) {
    await files.close();
    throw err;
  }
}

/**
 * Open a FIFO / pipe / character device for one sequential read. Opening a FIFO blocks
 * until some process opens it for writing; when that takes longer than a moment, the
 * caller hears of it (a silent hang looks like a bug).
 */
async function openUnseekable(path: string, label: string, st: Stats, opts: OpenArchiveOptions): Promise<Readable> {
  const timer = st.isFIFO()
    ? setTimeout(
        () => opts.onNote?.(`waiting for a writer on FIFO ${label} (start the program that writes to it, or press Ctrl-C)`),
        opts.fifoNoteAfterMs ?? FIFO_NOTE_AFTER_MS,
      )
    : undefined;
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new TarpushError('ARCHIVE_UNREADABLE', `cannot open ${label}: ${printable((err as Error).message)}`, { file: path }, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  if (isatty(fh.fd)) {
    await fh.close();
    throw new TarpushError('USAGE', `refusing to read an archive from a terminal (${label}): pipe one in or give a file`, { file: path });
  }
  return fh.createReadStream({ highWaterMark: 1 << 20 });
}

async function fromStream(path: string, label: string, input: Readable, opts: OpenArchiveOptions): Promise<Archive> {
  if ((input as Readable & { isTTY?: boolean }).isTTY) {
    throw new TarpushError('USAGE', 'refusing to read an archive from a terminal: pipe one into stdin or give a path', { file: label });
  }
  const spooled: Spooled = await spool(input, {
    label,
    ...(opts.tmpDir !== undefined ? { tmpDir: opts.tmpDir } : {}),
    ...(opts.maxSpoolBytes !== undefined ? { maxBytes: opts.maxSpoolBytes } : {}),
    ...(opts.maxSpoolRatio !== undefined ? { maxRatio: opts.maxSpoolRatio } : {}),
  });
  let files: ArchiveFiles | undefined;
  try {
    files = withNotes(tarFiles(await indexTar(spooled.file, { label })), opts.onNote);
    const { format, images } = await readTar(files);
    const opened = files;
    return archive(path, format, spooled.compression, images, async () => {
      await opened.close();
      await spooled.remove();
    });
  } catch (err) {
    await files?.close();
    await spooled.remove();
    throw err;
  }
}

async function readTar(files: ArchiveFiles): Promise<{ format: ArchiveFormat; images: ArchiveImage[] }> {
  const detected = await detectFormat(files);
  switch (detected.format) {
    case 'kaniko':
      return { format: 'kaniko', images: await readKaniko(files, detected.manifestJson!) };
    case 'docker-save':
      return { format: 'docker-save', images: await readDockerSave(files, detected.manifestJson!) };
    case 'docker-save-oci':
      return { format: 'docker-save-oci', images: await readDockerSaveOci(files, detected.manifestJson!) };
    case 'oci-archive':
      return { format: 'oci-archive', images: await readOciArchive(files) };
  }
}

function archive(path: string, format: ArchiveFormat, compression: ArchiveCompression, images: ArchiveImage[], cleanup: () => Promise<void>): Archive {
  let closed: Promise<void> | undefined;
  return {
    path,
    format,
    gzipped: compression === 'gzip',
    compression,
    images,
    close: () => (closed ??= cleanup()),
  };
}
