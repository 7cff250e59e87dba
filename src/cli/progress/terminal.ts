import type { Writable } from 'node:stream';
import { printable } from '../../util/printable.js';
import type { Board } from './board.js';
import { frameLines } from './layout.js';

/** Redraws at most this often: progress events come far more often than eyes can follow. */
export const REDRAW_MS = 100;

type TerminalStream = Writable & { columns?: number; rows?: number; on(event: 'resize', fn: () => void): unknown; off?(event: 'resize', fn: () => void): unknown };

/**
 * The live region on a terminal: a frame of at most height − 1 lines, each shorter than the
 * width, redrawn in place (cursor up, clear line) ten times a second at most. Lines printed
 * meanwhile (notes, retries) go above it, and the region is drawn again below them, so the
 * scrollback holds each such line once and the blob rows only in the last frame.
 */
export class TerminalView {
  /** Rows the last frame occupies on screen, and its lines' lengths (for a resize). */
  private drawnRows = 0;
  private drawnLengths: number[] = [];
  private dirty = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onResize = () => {
    // A terminal that reflows on resize re-wraps the lines already drawn: count the rows they
    // take at the new width, so the cursor goes back to the top of the region, not into it.
    // Rows beyond a smaller height went to the scrollback (the terminal keeps the cursor on
    // screen): the cursor cannot reach them, and clearing as many rows would scroll.
    const width = this.width();
    const rows = this.drawnLengths.reduce((n, len) => n + Math.max(1, Math.ceil(len / width)), 0);
    this.drawnRows = Math.min(rows, this.height() - 1);
    this.paint([]);
  };

  constructor(
    private readonly board: Board,
    private readonly out: TerminalStream,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => {
      if (this.dirty) this.paint([]);
    }, REDRAW_MS);
    this.timer.unref();
    out.on('resize', this.onResize);
  }

  private width(): number {
    return this.out.columns && this.out.columns > 0 ? this.out.columns : 80;
  }

  private height(): number {
    return this.out.rows && this.out.rows > 0 ? this.out.rows : 24;
  }

  changed(): void {
    this.dirty = true;
  }

  /**
   * Back to the top of the region, `notes` (kept: they scroll up with the output), then the
   * frame. Every row is cleared on its own (ESC[2K): an erase-below from the top-left corner
   * is a "clear screen" to tmux, which then pushes the whole screen into its scrollback.
   */
  private paint(notes: readonly string[]): void {
    this.dirty = false;
    const width = this.width();
    const lines = frameLines(this.board, width, this.height(), this.now());
    let s = this.drawnRows > 0 ? `\r\x1b[${this.drawnRows}A` : '\r';
    let used = 0;
    for (const note of notes) {
      // A note may wrap: clear every row it will take before writing it.
      const rows = Math.max(1, Math.ceil([...note].length / width));
      s += `${'\x1b[2K\n'.repeat(rows)}\x1b[${rows}A${note}\n`;
      used += rows;
    }
    for (const l of lines) s += `\x1b[2K${l}\n`;
    used += lines.length;
    // The old region was taller: clear what is left of it, and come back.
    const extra = this.drawnRows - used;
    if (extra > 0) s += `${'\x1b[2K\n'.repeat(extra)}\x1b[${extra}A`;
    this.drawnRows = lines.length;
    this.drawnLengths = lines.map((l) => [...l].length);
    this.out.write(s);
  }

  /** A line of its own above the region (escaped here: its text may come from outside). */
  say(text: string): void {
    this.paint([printable(text)]);
  }

  /** The last frame stays on screen; lines printed after it follow below. */
  end(): void {
    clearInterval(this.timer);
    this.out.off?.('resize', this.onResize);
    this.paint([]);
  }
}
