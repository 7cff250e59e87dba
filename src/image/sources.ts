import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ByteSource } from './types.js';

function clampRange(size: number, start = 0, end = size): [number, number] {
  if (start < 0 || end > size || start > end) throw new RangeError(`range ${start}-${end} outside 0-${size}`);
  return [start, end];
}

/** A byte range of a file: a blob inside a tar, or a whole blob file. */
export function fileRangeSource(path: string, offset: number, size: number, location: string): ByteSource {
  return {
    size,
    location,
    file: { path, offset },
    open(start?: number, end?: number) {
      const [s, e] = clampRange(size, start, end);
      if (s === e) return Readable.from([]);
      // 128 KiB reads: big enough for few syscalls, small enough that the chunks several
      // uploads hold at once stay a few MiB (docs/decisions.md "Memory").
      return createReadStream(path, { start: offset + s, end: offset + e - 1, highWaterMark: 128 << 10 });
    },
  };
}

/** Bytes held in memory (configs, manifests). */
export function bufferSource(buf: Buffer, location: string): ByteSource {
  return {
    size: buf.length,
    location,
    open(start?: number, end?: number) {
      const [s, e] = clampRange(buf.length, start, end);
      return Readable.from(s === e ? [] : [buf.subarray(s, e)]);
    },
  };
}
