/**
 * A byte budget shared by every parallel gzip stream of the process: the gzip blocks cut
 * from their inputs and not yet handed downstream (waiting for a thread, compressing, or
 * compressed and waiting for the upload) may hold at most `limit` bytes of input between
 * them. A count per stream would let N layers compressed at once hold N times as much.
 *
 * A holder that holds nothing may always take one block, even past the limit (a block
 * bigger than the budget, or many streams at once): no stream waits on the others, whose
 * blocks may sit unread for a while (an upload waiting to retry). So at most `limit` plus
 * one block per holder are taken at once.
 */
export class ByteBudget {
  private used = 0;
  private highest = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Bytes taken now. */
  get inUse(): number {
    return this.used;
  }

  /** The most bytes ever taken at once (for tests and benchmarks). */
  get peak(): number {
    return this.highest;
  }

  /** Take `n` bytes for a holder that already holds `held`; false when they do not fit. */
  take(n: number, held: number): boolean {
    if (held > 0 && this.used + n > this.limit) return false;
    this.used += n;
    this.highest = Math.max(this.highest, this.used);
    return true;
  }

  /** Give `n` bytes back and let every waiter try again. */
  give(n: number): void {
    this.used -= n;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Call `retry` once, at the next give(). */
  wait(retry: () => void): void {
    this.waiters.push(retry);
  }

  /** Forget a waiter (its stream was destroyed). */
  unwait(retry: () => void): void {
    this.waiters = this.waiters.filter((w) => w !== retry);
  }
}
