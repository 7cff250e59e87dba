import { BLOCK, MAX_META_SIZE, entryDataSize, isZeroBlock, paddedSize, parseHeader, parsePax, sparseExtensionContinues } from './tar-header.js';

/**
 * The one streaming walk over a tar's headers, for bytes that go by once (a spool being
 * written, a layer being uploaded): where each header lies, following entry sizes as Go's
 * archive/tar does (pax `size` records, local over global; header-only types 1–6 carry no
 * data whatever their size field says; GNU sparse extension blocks before the data). Data is
 * skipped, never copied; only headers and pax records are looked at. Headers are decoded by
 * tar-header.ts, as tar-index.ts decodes them for files it can seek in, so all three agree
 * on offsets.
 *
 * The walk stops at what its callers decide on (TarStop); what that means is theirs:
 * tar-end.ts ends a spool at the first zero block, image/verify-tar.ts proves a layer is a
 * tar.
 */

export type TarStop =
  /** A zero block where a header was due (the first of the end-of-archive blocks): feeding more goes on. */
  | { kind: 'zero'; at: number }
  /** The second zero block in a row: the archive ended. */
  | { kind: 'end'; at: number }
  /** A header after a single zero block at `at` (the end of an archive is two). */
  | { kind: 'lone-zero'; at: number }
  | { kind: 'bad-header'; at: number; reason: string }
  | { kind: 'pax-too-large'; at: number; size: number }
  /** The pax header at `at` holds records that do not parse. */
  | { kind: 'bad-pax'; at: number };

/** How the bytes fed so far end, when that is not between two entries (or inside the last entry's padding). */
export type TarCut =
  | { kind: 'in-header'; at: number }
  | { kind: 'in-sparse-map'; entryAt: number }
  | { kind: 'in-data'; of: 'pax header' | 'entry'; entryAt: number; missing: number };

export class TarWalk {
  /** Stream offset of the next byte fed. */
  private offset = 0;
  /** Bytes of entry data (and padding) still to pass before the next header. */
  private skip = 0;
  /** How many of the last `skip` bytes are padding (a stream may end inside it). */
  private pad = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  /** Offset of the header whose data is being skipped. */
  private entryAt = 0;
  /** Collecting a pax header's data (to learn a `size` override). */
  private meta: { global: boolean; chunks: Buffer[]; need: number; at: number } | undefined;
  private localSize: number | undefined;
  private globalSize: number | undefined;
  /** After a GNU sparse header: extension blocks, then this much data. */
  private sparseData: number | undefined;
  /** Zero blocks seen in a row. */
  private zeros = 0;

  /**
   * Walk the next bytes. Returns the first stop met, with `used`: how many bytes of `chunk`
   * the walk took, through the block that stopped it; undefined when it took them all and
   * goes on. After a `zero` stop the rest of the chunk may be fed; after any other, the walk
   * is over.
   */
  feed(chunk: Uint8Array): (TarStop & { used: number }) | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        if (this.meta && this.meta.need > 0) {
          const take = Math.min(n, this.meta.need);
          this.meta.chunks.push(Buffer.from(chunk.subarray(i, i + take)));
          this.meta.need -= take;
        }
        this.skip -= n;
        this.pad = Math.min(this.pad, this.skip);
        i += n;
        if (this.skip === 0 && this.meta) {
          const stop = this.endMeta();
          if (stop) return this.stopped(stop, i);
        }
        continue;
      }
      const n = Math.min(BLOCK - this.filled, chunk.length - i);
      this.block.set(chunk.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled < BLOCK) continue;
      this.filled = 0;
      const stop = this.onBlock(this.offset + i - BLOCK);
      if (stop) return this.stopped(stop, i);
    }
    this.offset += chunk.length;
    return undefined;
  }

  /** Where the bytes fed so far stop short of a whole tar; undefined when the stream may end here. */
  cut(): TarCut | undefined {
    if (this.filled > 0) return { kind: 'in-header', at: this.offset - this.filled };
    if (this.sparseData !== undefined) return { kind: 'in-sparse-map', entryAt: this.entryAt };
    if (this.skip > this.pad) return { kind: 'in-data', of: this.meta ? 'pax header' : 'entry', entryAt: this.entryAt, missing: this.skip - this.pad };
    return undefined;
  }

  private stopped(stop: TarStop, used: number): TarStop & { used: number } {
    this.offset += used;
    return { ...stop, used };
  }

  /** One whole 512-byte block at stream offset `at`. */
  private onBlock(at: number): TarStop | undefined {
    if (this.sparseData !== undefined) {
      if (!sparseExtensionContinues(this.block)) {
        this.data(this.sparseData);
        this.sparseData = undefined;
      }
      return undefined;
    }
    if (isZeroBlock(this.block)) {
      this.zeros++;
      return { kind: this.zeros >= 2 ? 'end' : 'zero', at };
    }
    if (this.zeros > 0) return { kind: 'lone-zero', at: at - BLOCK };
    const parsed = parseHeader(this.block);
    if (!parsed.ok) return { kind: 'bad-header', at, reason: parsed.reason };
    const h = parsed.header;
    this.entryAt = at;
    if (h.kind === 'pax' || h.kind === 'pax-global') {
      if (h.size > MAX_META_SIZE) return { kind: 'pax-too-large', at, size: h.size };
      this.meta = { global: h.kind === 'pax-global', chunks: [], need: h.size, at };
      this.data(h.size);
      return this.skip > 0 ? undefined : this.endMeta();
    }
    if (h.kind === 'gnu-longname' || h.kind === 'gnu-longlink') {
      this.data(h.size);
      return undefined;
    }
    const size = entryDataSize(h, this.localSize ?? this.globalSize);
    this.localSize = undefined;
    if (h.gnuSparseExtended) this.sparseData = size;
    else this.data(size);
    return undefined;
  }

  /** `size` bytes of data follow, padded to the block size. */
  private data(size: number): void {
    this.skip = paddedSize(size);
    this.pad = this.skip - size;
  }

  private endMeta(): TarStop | undefined {
    const m = this.meta!;
    this.meta = undefined;
    const records = parsePax(Buffer.concat(m.chunks));
    if (!records) return { kind: 'bad-pax', at: m.at };
    if (records.size !== undefined) {
      if (m.global) this.globalSize = records.size;
      else this.localSize = records.size;
    }
    return undefined;
  }
}
