import { formatBytes, formatBytesOf, formatDuration, formatRate } from '../../util/format-bytes.js';
import { printable } from '../../util/printable.js';
import { isActive, isFinished, type BlobRow, type Board, type Totals } from './board.js';

/**
 * The terminal frame: blob rows, a summary row for those that do not fit, and a totals line,
 * every line shorter than the width (a line as wide as the terminal wraps on some terminals,
 * and a wrapped line breaks the cursor arithmetic of the redraw). Pure: text in, lines out.
 */

/** Each variant drops what matters least; the first that fits is used. */
function fit(variants: string[], width: number): string {
  const max = Math.max(1, width - 1);
  for (const v of variants) if ([...v].length <= max) return v;
  return [...variants[variants.length - 1]!].slice(0, max).join('');
}

function pct(r: BlobRow): string {
  return r.size ? `${Math.min(100, Math.floor((100 * r.sent) / r.size))}%` : '';
}

/** The text fields of a row, most important first. */
export function rowFields(r: BlobRow, now: number): { phase: string; id: string; shortId: string; bytes: string; sent: string; pct: string; rate: string } {
  const sending = r.phase === 'sending' || r.phase === 'compressing';
  const size = r.size !== undefined ? formatBytes(r.size) : '';
  let bytes = size;
  let sent = size;
  if (sending || r.phase === 'committing') {
    bytes = r.size !== undefined ? formatBytesOf(r.sent, r.size) : formatBytes(r.sent);
    sent = formatBytes(r.sent);
  } else if (r.phase === 'waiting' || r.phase === 'checking') {
    bytes = size;
    sent = '';
  }
  const rate = sending && r.started !== undefined ? formatRate(r.sent, now - r.started) : '';
  return { phase: r.phase, id: r.id, shortId: r.id.slice(0, 7), bytes, sent, pct: sending ? pct(r) : '', rate };
}

export function rowLine(r: BlobRow, width: number, now: number, place?: string): string {
  const f = rowFields(r, now);
  const head = `${f.phase.padEnd(12)}${f.id}`;
  const shortHead = `${f.phase.padEnd(12)}${f.shortId}`;
  const join = (...parts: string[]) => parts.filter(Boolean).join('  ');
  const to = place ? `→ ${printable(place)}` : '';
  return fit(
    [
      join(head, f.bytes, f.pct, f.rate, to),
      join(head, f.bytes, f.pct, f.rate),
      join(head, f.bytes, f.pct),
      join(shortHead, f.bytes, f.pct),
      join(shortHead, f.sent, f.pct),
      join(shortHead, f.pct),
      shortHead,
    ],
    width,
  );
}

export function totalsLine(t: Totals, width: number): string {
  const count = `${t.done}/${t.count} done`;
  if (t.count > 0 && t.done === t.count) {
    // All done: what it took, and the average rate of what was sent.
    const took = `in ${formatDuration(t.elapsedMs)}`;
    const avg = t.sent > 0 ? formatRate(t.sent, t.elapsedMs) : '';
    const total = formatBytes(t.bytesTotal);
    const all = (...parts: string[]) => parts.filter(Boolean).join('  ');
    return fit([all(count, total, took, avg), all(count, total, took), all(`${t.done}/${t.count}`, total, took), `${t.done}/${t.count}`], width);
  }
  const bytes = t.bytesTotal > 0 || t.bytesDone > 0 ? `${formatBytesOf(t.bytesDone, t.bytesTotal)}${t.sizesUnknown ? '+' : ''}` : '';
  const rate = t.rate > 0 ? `${formatBytes(t.rate)}/s` : '';
  const eta = t.etaMs !== undefined ? formatDuration(t.etaMs) : '';
  const join = (...parts: string[]) => parts.filter(Boolean).join('  ');
  return fit(
    [
      join(count, bytes, rate, eta && `ETA ${eta}`),
      join(count, bytes, rate, eta),
      join(count, bytes, rate),
      join(`${t.done}/${t.count}`, bytes, rate),
      join(`${t.done}/${t.count}`, bytes),
      `${t.done}/${t.count}`,
    ],
    width,
  );
}

export function summaryLine(hidden: readonly BlobRow[], width: number): string {
  const done = hidden.filter(isFinished).length;
  const active = hidden.filter(isActive).length;
  const waiting = hidden.length - done - active;
  const parts = [done && `${done} done`, active && `${active} active`, waiting && `${waiting} waiting`].filter(Boolean).join(', ');
  return fit([`… ${hidden.length} more: ${parts}`, `… ${hidden.length} more`, `…${hidden.length}`], width);
}

/**
 * The live region for a terminal of `width` × `height`: at most height − 1 lines (the cursor
 * needs a line of its own, and a region taller than the screen leaves copies in scrollback).
 * Rows at work come first (in start order), then the most recently finished, then waiting.
 */
export function frameLines(board: Board, width: number, height: number, now: number): string[] {
  const all = [...board.rows.values()];
  if (all.length === 0) return [];
  const maxLines = Math.max(2, height - 1);
  const active = all.filter(isActive).sort((a, b) => a.order - b.order);
  const finished = all.filter(isFinished).sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.order - a.order);
  const waiting = all.filter((r) => r.phase === 'waiting').sort((a, b) => a.order - b.order);
  const ranked = [...active, ...finished, ...waiting];
  // Room for the rows: everything but the totals line, and the summary row if some are left out.
  let room = maxLines - 1;
  if (ranked.length > room) room = Math.max(0, room - 1);
  const shown = new Set(ranked.slice(0, room));
  const hidden = ranked.slice(room);
  const showPlace = board.places().size > 1;
  // Shown rows keep their own order (start order), so a row does not jump as others finish.
  const lines = all.filter((r) => shown.has(r)).map((r) => rowLine(r, width, now, showPlace ? r.place : undefined));
  if (hidden.length) lines.push(summaryLine(hidden, width));
  lines.push(totalsLine(board.totals(), width));
  return lines;
}
