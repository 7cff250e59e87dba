import { MAX_META_SIZE } from '../archive/tar-header.js';
import { TarWalk, type TarStop } from '../archive/tar-walk.js';

/**
 * Proof that a layer's uncompressed bytes are a tar, checked as they stream by (the same
 * pass that hashes the diff_id, on whichever thread that runs): every header block has a
 * valid checksum and fields, every entry's data is all there, and each next header sits
 * where the previous entry's data, padded to 512 bytes, ends. Data is skipped, never copied;
 * only headers (and pax records, for their `size`) are looked at. The walk is
 * archive/tar-walk.ts's, the one the spool's end watcher and (for seekable files)
 * tar-index.ts agree with on where every header lies; what is refused is decided here.
 *
 * How the stream may end is what Go's archive/tar — the reader of docker, containerd and
 * the registries' tools — accepts, because a layer it applies must not be refused here: the
 * two zero end-of-archive blocks, one, or none, and the last entry's padding may be missing
 * (umoci 0.4.7 writes layers that end right after the last byte of data). Refused: a stream
 * ending inside an entry's data or inside a header block, and a lone zero block followed by
 * more headers. Bytes after the end-of-archive blocks are not looked at: readers stop there.
 */

export class TarStreamCheck {
  private readonly walk = new TarWalk();
  private ended_ = false;
  private failure: string | undefined;

  /** Whether the two end-of-archive blocks have been seen. */
  get ended(): boolean {
    return this.ended_;
  }

  /**
   * Feed the next bytes. Returns what is wrong ("bad header checksum at offset N") the
   * first time the bytes stop being a tar, and the same text on every later call.
   */
  feed(chunk: Uint8Array): string | undefined {
    if (this.failure || this.ended_) return this.failure;
    let rest = chunk;
    for (;;) {
      const stop = this.walk.feed(rest);
      if (!stop) return undefined;
      if (stop.kind === 'zero') {
        rest = rest.subarray(stop.used); // one zero block: the end, or a lone one if a header follows
        continue;
      }
      if (stop.kind === 'end') {
        this.ended_ = true;
        return undefined;
      }
      return this.fail(refusal(stop));
    }
  }

  /** The stream has ended: what is wrong if it was not a whole tar, else undefined. */
  end(): string | undefined {
    if (this.failure || this.ended_) return this.failure;
    const cut = this.walk.cut();
    if (!cut) return undefined;
    if (cut.kind === 'in-header') return this.fail(`ends inside the header block at offset ${cut.at}`);
    if (cut.kind === 'in-sparse-map') return this.fail(`ends inside the sparse map of the entry at offset ${cut.entryAt}`);
    return this.fail(`ends inside the data of the ${cut.of} at offset ${cut.entryAt} (${cut.missing} bytes missing)`);
  }

  private fail(what: string): string {
    this.failure = `not a tar: ${what}`;
    return this.failure;
  }
}

/** Why a stop of the walk (other than the end blocks) means the bytes are not a tar. */
function refusal(stop: Exclude<TarStop, { kind: 'zero' | 'end' }>): string {
  switch (stop.kind) {
    case 'lone-zero':
      return `a lone zero block at offset ${stop.at} (the end of an archive is two)`;
    case 'bad-header':
      return `${stop.reason === 'header checksum mismatch' ? 'bad header checksum' : stop.reason} at offset ${stop.at}`;
    case 'pax-too-large':
      return `pax header of ${stop.size} bytes at offset ${stop.at} (at most ${MAX_META_SIZE})`;
    case 'bad-pax':
      return `malformed pax records in the header at offset ${stop.at}`;
  }
}
