/**
 * The gzip wrapper (RFC 1952) around a raw deflate stream. Every field we set is fixed
 * (no file name, mtime 0, OS 255 "unknown" as Go's compress/gzip writes it) so the bytes
 * depend only on the input: the same layer always gets the same digest.
 */

/** XFL per RFC 1952: 2 = best compression (level 9), 4 = fastest (level 1), else 0. */
function extraFlags(level: number): number {
  if (level >= 9) return 2;
  if (level <= 1) return 4;
  return 0;
}

/** The 10-byte gzip member header for a deflate stream compressed at `level`. */
export function gzipHeader(level: number): Buffer {
  // ID1 ID2 CM=8(deflate) FLG=0 MTIME=0 XFL OS=255
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, extraFlags(level), 0xff]);
}

/** The 8-byte gzip trailer: CRC-32 of the uncompressed data, then its length mod 2^32. */
export function gzipTrailer(crc32: number, uncompressedLength: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(crc32 >>> 0, 0);
  t.writeUInt32LE(uncompressedLength % 0x1_0000_0000, 4);
  return t;
}
