import { sourceReadError, TarpushError } from '../errors.js';
import type { ByteSource } from '../image/types.js';
import { noteBufferChurn } from '../util/dead-buffers.js';

/**
 * Request bodies streamed from a ByteSource: bytes [start, end) are read on demand (never
 * buffered whole), counted as they go (progress), and checked to be exactly as many as the
 * source declared. A failing source is the source's error (errors.ts `sourceReadError`),
 * which the transport does not retry.
 */
export function rangeBody(source: ByteSource, start: number, end: number, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      const stream = source.open(start, end);
      let n = 0;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          n += chunk.length;
          if (n > end - start) {
            throw new TarpushError('SIZE_MISMATCH', `${source.location}: more bytes than the ${source.size} declared`, {
              file: source.location,
            });
          }
          onBytes(chunk.length);
          noteBufferChurn(chunk.length);
          yield chunk;
        }
      } catch (err) {
        throw sourceReadError(err, source.location, { file: source.location });
      } finally {
        stream.destroy();
      }
      if (n !== end - start) {
        throw new TarpushError('SIZE_MISMATCH', `${source.location}: ended after ${start + n} of ${source.size} bytes`, {
          file: source.location,
        });
      }
    },
  };
}
