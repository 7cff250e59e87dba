import { BLOCK, isZeroBlock, paddedSize, parseHeader, parsePax, sparseExtensionContinues } from './tar-header.js';

/**
 * Follows a tar stream's headers as bytes go by, to find where the archive ends without
 * keeping any data: spooling stops there, so trailing padding (or a gzip bomb of zeros
 * after the archive) is never written to disk. It reads headers the way tar-index.ts
 * does (pax `size`, header-only types, GNU sparse extensions) so both agree on offsets.
 */
export class TarEndWatcher {
  /** Bytes to pass before the next header block. */
  private skip = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  /** Collecting a pax header's data (to learn a `size` override). */
  private meta: { global: boolean; chunks: Buffer[]; need: number } | undefined;
  private localSize: number | undefined;
  private globalSize: number | undefined;
  /** After a GNU sparse header: extension blocks, then this much data. */
  private sparseData: number | undefined;

  /**
   * Feed the next bytes. Returns how many bytes of `chunk` belong to the archive when its
   * end (a zero block) or a header that is not valid tar lies in this chunk — the indexer
   * then reports the problem precisely — and undefined while the archive goes on.
   */
  feed(chunk: Buffer): number | undefined {
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
        i += n;
        if (this.skip === 0 && this.meta) this.endMeta();
        continue;
      }
      const n = Math.min(BLOCK - this.filled, chunk.length - i);
      chunk.copy(this.block, this.filled, i, i + n);
      this.filled += n;
      i += n;
      if (this.filled < BLOCK) continue;
      this.filled = 0;
      if (this.sparseData !== undefined) {
        if (!sparseExtensionContinues(this.block)) {
          this.skip = this.sparseData;
          this.sparseData = undefined;
        }
        continue;
      }
      if (isZeroBlock(this.block)) return i;
      const parsed = parseHeader(this.block);
      if (!parsed.ok) return i;
      const h = parsed.header;
      if (h.kind === 'pax' || h.kind === 'pax-global') {
        if (h.size > 1 << 20) return i; // the indexer refuses it with ARCHIVE_TOO_LARGE
        this.meta = { global: h.kind === 'pax-global', chunks: [], need: h.size };
        this.skip = paddedSize(h.size);
        if (this.skip === 0) this.endMeta();
        continue;
      }
      if (h.kind === 'gnu-longname' || h.kind === 'gnu-longlink') {
        this.skip = paddedSize(h.size);
        continue;
      }
      const size = /^[1-6]$/.test(h.typeflag) ? 0 : (this.localSize ?? this.globalSize ?? h.size);
      this.localSize = undefined;
      if (h.gnuSparseExtended) this.sparseData = paddedSize(size);
      else this.skip = paddedSize(size);
    }
    return undefined;
  }

  private endMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    const records = parsePax(Buffer.concat(m.chunks));
    if (records?.size === undefined) return;
    if (m.global) this.globalSize = records.size;
    else this.localSize = records.size;
  }
}
