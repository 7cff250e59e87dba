import { Readable } from 'node:stream';

/** Deterministic pseudo-random numbers (mulberry32), so failures can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['layer', 'image', 'tar', 'registry', 'digest', 'manifest', '/usr/lib/', 'libc.so.6', '\n', '\0\0\0\0', 'config', 'sha256:'];

/**
 * Bytes that look a little like a layer: runs of repetitive text (compressible, with
 * matches across block borders) interleaved with runs of random bytes (incompressible).
 */
export function sampleData(size: number, seed = 1): Buffer {
  const rand = prng(seed);
  const buf = Buffer.alloc(size);
  let i = 0;
  while (i < size) {
    const run = Math.min(size - i, 1 + Math.floor(rand() * 20000));
    if (rand() < 0.3) {
      for (let j = 0; j < run; j++) buf[i + j] = Math.floor(rand() * 256);
      i += run;
    } else {
      const end = i + run;
      while (i < end) {
        const w = WORDS[Math.floor(rand() * WORDS.length)]!;
        i += buf.write(w, i, Math.min(w.length, end - i), 'latin1');
      }
    }
  }
  return buf;
}

/** A stream of `data` cut into random-sized chunks (1 byte up to maxChunk). */
export function chunkedStream(data: Buffer, seed: number, maxChunk = 200_000): Readable {
  const rand = prng(seed);
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = Math.min(data.length - i, 1 + Math.floor(rand() ** 3 * maxChunk));
    chunks.push(data.subarray(i, i + n));
    i += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
