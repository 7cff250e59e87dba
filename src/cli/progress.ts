import type { PublishEvent, PublishListener } from '../publish/events.js';
import type { ClientEvent } from '../registry/options.js';
import { printable } from '../util/printable.js';
import type { CliIO } from './io.js';
import { Board } from './progress/board.js';
import { clientLines } from './progress/client-lines.js';
import { PlainView } from './progress/plain.js';
import { TerminalView } from './progress/terminal.js';

export type ProgressMode = 'tty' | 'plain' | 'quiet';

export interface ProgressRenderer {
  listener: PublishListener;
  /** The registry client's events: retries and fallbacks get a line each (unless quiet). */
  clientEvent: (event: ClientEvent) => void;
  /** How many requests were repeated so far. */
  retries(): number;
  /** Stop redrawing: the last frame stays on screen, then (terminal) the tags written. */
  end(): void;
}

export interface ProgressOptions {
  /** --verbose: each registry request gets a line too (also when quiet: it was asked for). */
  verbose?: boolean;
  now?: () => number;
}

/**
 * Progress on stderr: on a terminal a live region (blob rows with phases, a totals line with
 * rate and ETA) redrawn in place; in a log (CI, a pipe) one line per event and one at least
 * every 5 s for each blob at work; nothing when quiet. Retries and fallbacks get a line each.
 */
export function progressRenderer(mode: ProgressMode, io: CliIO, opts: ProgressOptions = {}): ProgressRenderer {
  const now = opts.now ?? Date.now;
  const verbose = !!opts.verbose;
  let retried = 0;
  const board = new Board(now);
  const out = io.stderr;
  const terminal = mode === 'tty' ? new TerminalView(board, out as ConstructorParameters<typeof TerminalView>[1], now) : undefined;
  const plain = mode === 'plain' ? new PlainView(board, (l) => out.write(`${l}\n`), now) : undefined;
  const written: string[] = [];

  /** A line of its own (escaped: notes and URLs carry text from outside). */
  const say = (text: string) => {
    if (terminal) terminal.say(text);
    else out.write(`${printable(text)}\n`);
  };

  const listener = (e: PublishEvent) => {
    if (mode === 'quiet') return;
    switch (e.type) {
      case 'note':
        say(e.message);
        return;
      case 'verify':
        // On a terminal the layer's row says "verifying"; a log says why once.
        if (plain) say(`verifying ${e.digest} (${e.reason})`);
        return;
      case 'manifest': {
        const ref = e.reference.startsWith('sha256:') ? `${e.place}@${e.reference}` : `${e.place}:${e.reference}@${e.digest}`;
        if (plain) say(`manifest    ${e.reference.startsWith('sha256:') ? ref : `${e.place}:${e.reference} ${e.digest}`}`);
        else written.push(ref);
        return;
      }
    }
    const row = board.apply(e);
    if (!row) return;
    plain?.changed(row);
    terminal?.changed();
  };

  const lines = clientLines(verbose, say);
  const clientEvent = (e: ClientEvent) => {
    if (e.type === 'retry') retried++;
    if (mode !== 'quiet' || verbose) lines(e);
  };

  return {
    listener,
    clientEvent,
    retries: () => retried,
    end: () => {
      plain?.end();
      if (terminal) {
        terminal.end();
        for (const ref of written) out.write(`wrote ${printable(ref)}\n`);
      }
    },
  };
}
