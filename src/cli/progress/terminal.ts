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
  private drawnLengths: number[] = [];
  private drawnWidth: number;
  private dirty = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onResize = () => {
    // A terminal that reflows on resize re-wraps the lines already drawn: count the rows they
    // take at the new width, so the cursor goes back to the top of the region, not into it.
    const width = this.width();
    if (width < this.drawnWidth) {
      const rows = this.drawnLengths.reduce((n, len) => n + Math.max(1, Math.ceil(len / width)), 0);
      this.out.write(`${this.up(rows)}\x1b[0J`);
      this.drawnLengths = [];
    }
    this.draw();
  };

  constructor(
    private readonly board: Board,
    private readonly out: TerminalStream,
    private readonly now: () => number,
  ) {
    this.drawnWidth = this.width();
    this.timer = setInterval(() => {
      if (this.dirty) this.draw();
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

  private up(n: number): string {
    return n > 0 ? `\r\x1b[${n}A` : '\r';
  }

  changed(): void {
    this.dirty = true;
  }

  draw(): void {
    this.dirty = false;
    const lines = frameLines(this.board, this.width(), this.height(), this.now());
    let frame = this.up(this.drawnLengths.length);
    for (const l of lines) frame += `\x1b[2K${l}\n`;
    // A shorter frame than the last: clear what is left of the old one below.
    if (lines.length < this.drawnLengths.length) frame += '\x1b[0J';
    this.drawnLengths = lines.map((l) => [...l].length);
    this.drawnWidth = this.width();
    this.out.write(frame);
  }

  /** A line of its own above the region (escaped here: its text may come from outside). */
  say(text: string): void {
    this.out.write(`${this.up(this.drawnLengths.length)}\x1b[0J${printable(text)}\n`);
    this.drawnLengths = [];
    this.draw();
  }

  /** The last frame stays on screen; lines printed after it follow below. */
  end(): void {
    clearInterval(this.timer);
    this.out.off?.('resize', this.onResize);
    this.draw();
  }
}
