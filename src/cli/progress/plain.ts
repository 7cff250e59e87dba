import { formatBytes, formatDuration, formatRate } from '../../util/format-bytes.js';
import { printable } from '../../util/printable.js';
import { isActive, isFinished, type Board, type BlobRow } from './board.js';
import { rowFields } from './layout.js';

/** Anything in flight gets a line at least this often (checked every second). */
export const PLAIN_EVERY_MS = 5000;
export const PLAIN_TICK_MS = 1000;

/**
 * Progress as log lines (CI, a pipe): a line when a blob is stored, present or mounted, and one
 * at least every 5 s for each blob still at work. A blob keeps the id it started with, in full
 * (its digest, or the diff_id of a layer compressed on the way: its done line adds the digest).
 */
export class PlainView {
  private readonly timer: NodeJS.Timeout;
  private readonly logged = new WeakSet<BlobRow>();
  private readonly checking = new WeakSet<BlobRow>();

  constructor(
    private readonly board: Board,
    private readonly write: (line: string) => void,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => this.tick(), PLAIN_TICK_MS);
    this.timer.unref();
  }

  /** A row changed: its done line, or a progress line when one is due. */
  changed(r: BlobRow): void {
    if (isFinished(r)) {
      if (!this.logged.has(r)) this.write(this.doneLine(r));
      this.logged.add(r);
      return;
    }
    // A content check after the transfer: its clock starts now.
    if (r.phase === 'verifying' && this.logged.has(r) && !this.checking.has(r)) {
      this.checking.add(r);
      r.lastLogged = this.now();
    }
    if (this.due(r)) this.progress(r);
  }

  /** Rows at work that have not had a line for a while (no event may come for seconds). */
  tick(): void {
    for (const r of this.board.rows.values()) if (this.due(r)) this.progress(r);
  }

  end(): void {
    clearInterval(this.timer);
  }

  private due(r: BlobRow): boolean {
    // A line every PLAIN_EVERY_MS at the latest: due one tick early, as ticks come once a second.
    return isActive(r) && this.now() - r.lastLogged >= PLAIN_EVERY_MS - PLAIN_TICK_MS;
  }

  private progress(r: BlobRow): void {
    const t = this.now();
    r.lastLogged = t;
    const f = rowFields(r, t);
    const bytes = [f.bytes, f.pct, f.rate].filter(Boolean).join(' ');
    const waited = r.started !== undefined ? formatDuration(t - r.started) : '';
    this.write(`${f.phase.padEnd(12)}${r.fullId} ${bytes || `for ${waited}`} → ${printable(r.place)}`);
  }

  private doneLine(r: BlobRow): string {
    const size = formatBytes(r.size ?? r.sent);
    const took = r.started !== undefined && r.finishedAt !== undefined ? r.finishedAt - r.started : 0;
    const how = r.phase === 'done' ? ` in ${formatDuration(took)}${took > 0 ? `, ${formatRate(r.size ?? r.sent, took)}` : ''}` : '';
    const word = r.phase === 'done' ? 'uploaded' : r.phase;
    // A layer compressed on the way went by its diff_id: its digest is told once, here.
    return `${word.padEnd(12)}${r.fullId} ${size} → ${printable(r.place)}${how}${r.compressing ? `; compressed to ${r.digest}` : ''}`;
  }
}
