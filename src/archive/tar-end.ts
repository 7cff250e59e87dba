import { TarWalk } from './tar-walk.js';

/**
 * Finds where a tar stream's archive ends as bytes go by, without keeping any data:
 * spooling stops there, so trailing padding (or a gzip bomb of zeros after the archive) is
 * never written to disk. The walk is tar-walk.ts's, which agrees with tar-index.ts on offsets.
 */
export class TarEndWatcher {
  private readonly walk = new TarWalk();
  private done = false;

  /**
   * Feed the next bytes. Returns how many bytes of `chunk` belong to the archive when its
   * end (a zero block) or something that is not valid tar (a bad header, pax records that do
   * not parse or are too large) lies in this chunk — the indexer then reports the problem
   * precisely — and undefined while the archive goes on.
   */
  feed(chunk: Buffer): number | undefined {
    if (this.done) return 0;
    const stop = this.walk.feed(chunk);
    if (!stop) return undefined;
    this.done = true;
    return stop.used;
  }
}
