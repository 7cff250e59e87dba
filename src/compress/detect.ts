import type { Compression } from '../image/media-types.js';

/** Compression of bytes by their magic number (names and media types can lie). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Compressions a whole archive may come in: the layer ones, and xz and bzip2 (`docker save | xz`). */
export type ArchiveCompression = Compression | 'xz' | 'bzip2';

/** Bytes of magic detectArchiveCompression needs to see. */
export const ARCHIVE_MAGIC_BYTES = 6;

/**
 * Compression of a whole archive by its magic number: gzip, zstd, xz (`FD 37 7A 58 5A 00`),
 * bzip2 (`BZh` and a block size digit). A tar starts with its first entry's name, and no
 * image tool names an entry so.
 */
export function detectArchiveCompression(head: Uint8Array): ArchiveCompression {
  const layer = detectCompression(head);
  if (layer !== 'none') return layer;
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head.length >= 4 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  return 'none';
}
