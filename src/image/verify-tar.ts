import { BLOCK, isZeroBlock, paddedSize, parseHeader, parsePax, sparseExtensionContinues } from '../archive/tar-header.js';

/**
 * Proof that a layer's uncompressed bytes are a tar, checked as they stream by (the same
 * pass that hashes the diff_id, on whichever thread that runs): every header block has a
 * valid checksum and fields, every entry's data is all there, and each next header sits
 * where the previous entry's data, padded to 512 bytes, ends. Data is skipped, never copied;
 * only headers (and pax records, for their `size`) are looked at. Headers are decoded by
 * archive/tar-header.ts, and entry sizes are followed as archive/tar-end.ts follows them (pax
 * `size`, header-only types, GNU sparse extension blocks), so both agree on where every
 * header lies.
 *
 * How the stream may end is what Go's archive/tar — the reader of docker, containerd and
 * the registries' tools — accepts, because a layer it applies must not be refused here: the
 * two zero end-of-archive blocks, one, or none, and the last entry's padding may be missing
 * (umoci 0.4.7 writes layers that end right after the last byte of data). Refused: a stream
 * ending inside an entry's data or inside a header block, and a lone zero block followed by
 * more headers. Bytes after the end-of-archive blocks are not looked at: readers stop there.
 */

/** Largest pax header read for its records (as the archive reader's bound). */
const MAX_PAX = 1 << 20;

export class TarStreamCheck {
  /** Stream offset of the next byte fed. */
  private offset = 0;
  /** Bytes of entry data (and padding) still to pass before the next header. */
  private skip = 0;
  /** How many of the last `skip` bytes are padding (a stream may end inside it). */
  private pad = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  /** Offset of the entry whose data is being skipped (for a truncation message). */
  private entryAt = 0;
  private meta: { global: boolean; chunks: Buffer[]; need: number; at: number } | undefined;
  private localSize: number | undefined;
  private globalSize: number | undefined;
  /** After a GNU sparse header: extension blocks, then this much data. */
  private sparseData: number | undefined;
  /** Zero blocks seen in a row (2 = the archive ended). */
  private zeros = 0;
  private failure: string | undefined;

  /** Whether the two end-of-archive blocks have been seen. */
  get ended(): boolean {
    return this.zeros >= 2;
  }

  /**
   * Feed the next bytes. Returns what is wrong ("bad header checksum at offset N") the
   * first time the bytes stop being a tar, and the same text on every later call.
   */
  feed(chunk: Uint8Array): string | undefined {
    if (this.failure || this.ended) return this.failure;
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
        if (this.skip === 0 && this.meta && !this.endMeta()) return this.failure;
        continue;
      }
      const n = Math.min(BLOCK - this.filled, chunk.length - i);
      this.block.set(chunk.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled < BLOCK) continue;
      this.filled = 0;
      const at = this.offset + i - BLOCK;
      if (!this.onBlock(at)) return this.failure;
      if (this.ended) break;
    }
    this.offset += chunk.length;
    return undefined;
  }

  /** The stream has ended: what is wrong if it was not a whole tar, else undefined. */
  end(): string | undefined {
    if (this.failure || this.ended) return this.failure;
    if (this.filled > 0) return this.fail(`ends inside the header block at offset ${this.offset - this.filled}`);
    if (this.sparseData !== undefined) return this.fail(`ends inside the sparse map of the entry at offset ${this.entryAt}`);
    if (this.skip > this.pad) {
      const what = this.meta ? 'pax header' : 'entry';
      return this.fail(`ends inside the data of the ${what} at offset ${this.entryAt} (${this.skip - this.pad} bytes missing)`);
    }
    return undefined;
  }

  private fail(what: string): string {
    this.failure = `not a tar: ${what}`;
    return this.failure;
  }

  /** One whole 512-byte block at stream offset `at`. False once the stream is not a tar. */
  private onBlock(at: number): boolean {
    if (this.sparseData !== undefined) {
      if (!sparseExtensionContinues(this.block)) {
        this.data(this.sparseData);
        this.sparseData = undefined;
      }
      return true;
    }
    if (isZeroBlock(this.block)) {
      this.zeros++;
      return true;
    }
    if (this.zeros > 0) {
      this.fail(`a lone zero block at offset ${at - BLOCK} (the end of an archive is two)`);
      return false;
    }
    const parsed = parseHeader(this.block);
    if (!parsed.ok) {
      this.fail(`${parsed.reason === 'header checksum mismatch' ? 'bad header checksum' : parsed.reason} at offset ${at}`);
      return false;
    }
    const h = parsed.header;
    this.entryAt = at;
    if (h.kind === 'pax' || h.kind === 'pax-global') {
      if (h.size > MAX_PAX) {
        this.fail(`pax header of ${h.size} bytes at offset ${at} (at most ${MAX_PAX})`);
        return false;
      }
      this.meta = { global: h.kind === 'pax-global', chunks: [], need: h.size, at };
      this.data(h.size);
      return this.skip > 0 || this.endMeta();
    }
    if (h.kind === 'gnu-longname' || h.kind === 'gnu-longlink') {
      this.data(h.size);
      return true;
    }
    // Header-only types (links, devices, directories, fifos) have no data whatever the size field says.
    const size = /^[1-6]$/.test(h.typeflag) ? 0 : (this.localSize ?? this.globalSize ?? h.size);
    this.localSize = undefined;
    if (h.gnuSparseExtended) this.sparseData = size;
    else this.data(size);
    return true;
  }

  /** `size` bytes of data follow, padded to the block size. */
  private data(size: number): void {
    this.skip = paddedSize(size);
    this.pad = this.skip - size;
  }

  private endMeta(): boolean {
    const m = this.meta!;
    this.meta = undefined;
    const records = parsePax(Buffer.concat(m.chunks));
    if (!records) {
      this.fail(`malformed pax records in the header at offset ${m.at}`);
      return false;
    }
    if (records.size !== undefined) {
      if (m.global) this.globalSize = records.size;
      else this.localSize = records.size;
    }
    return true;
  }
}
