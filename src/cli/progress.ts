import type { PublishEvent, PublishListener } from '../publish/events.js';
import type { ClientEvent } from '../registry/options.js';
import { printable } from '../util/printable.js';
import { formatBytes, shortDigest } from './format-bytes.js';
import type { CliIO } from './io.js';

export type ProgressMode = 'tty' | 'plain' | 'quiet';

export interface ProgressRenderer {
  listener: PublishListener;
  /** The registry client's events: retries and fallbacks get a line each (unless quiet). */
  clientEvent: (event: ClientEvent) => void;
  /** How many requests were repeated so far. */
  retries(): number;
  /** Stop redrawing (and leave the last frame on screen). */
  end(): void;
}

interface BlobState {
  label: string;
  place: string;
  size?: number;
  sent: number;
  started: number;
  lastLogged: number;
  done?: string;
}

const PLAIN_PROGRESS_EVERY_MS = 5000;

function rate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes((bytes * 1000) / ms)}/s` : '';
}

/**
 * Progress on stderr: a redrawn table of blobs on a terminal; one line per event when the
 * output is a log (CI), with a byte count every few seconds for big blobs; nothing when quiet.
 */
export function progressRenderer(mode: ProgressMode, io: CliIO, now: () => number = Date.now): ProgressRenderer {
  let retried = 0;
  const countRetry = (e: ClientEvent) => {
    if (e.type === 'retry') retried++;
  };
  if (mode === 'quiet') return { listener: () => {}, clientEvent: countRetry, retries: () => retried, end: () => {} };
  const blobs = new Map<string, BlobState>();
  const out = io.stderr;
  const key = (e: { place: string; id: string }) => `${e.place}\0${e.id}`;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;

  const line = (b: BlobState): string => {
    const size = b.size !== undefined ? formatBytes(b.size) : '?';
    if (b.done) return `${b.done.padEnd(9)} ${b.label}  ${size}`;
    const pct = b.size ? ` ${Math.floor((100 * b.sent) / b.size)}%` : '';
    return `${'sending'.padEnd(9)} ${b.label}  ${formatBytes(b.sent)}/${size}${pct} ${rate(b.sent, now() - b.started)}`;
  };
  const redraw = () => {
    const lines = [...blobs.values()].map(line);
    const width = io.stderr.columns ?? 100;
    let frame = drawn ? `\x1b[${drawn}A` : '';
    for (const l of lines) frame += `\x1b[2K${l.slice(0, width - 1)}\n`;
    drawn = lines.length;
    out.write(frame);
  };

  /** A line of its own: in plain mode as is; on a terminal above the table, which is redrawn below it. */
  const say = (text: string) => {
    if (mode === 'tty' && drawn) {
      out.write(`\x1b[${drawn}A\x1b[0J`);
      drawn = 0;
    }
    out.write(`${printable(text)}\n`);
  };

  const listener = (e: PublishEvent) => {
    if (e.type === 'note') {
      say(e.message);
      return;
    }
    if (e.type === 'verify') {
      say(`verifying ${e.digest} (${e.reason})`);
      return;
    }
    if (e.type === 'manifest') {
      if (mode === 'plain') out.write(`manifest  ${e.place}${e.reference.startsWith('sha256:') ? '@' : ':'}${e.reference} ${e.digest}\n`);
      return;
    }
    const k = key(e);
    if (e.type === 'blob-start') {
      const label = e.id.startsWith('sha256:') && !e.id.includes('>') ? shortDigest(e.id) : `${shortDigest(e.id)} (compressing)`;
      blobs.set(k, { label: `${label} → ${e.place}`, place: e.place, size: e.size, sent: 0, started: now(), lastLogged: now() });
    }
    const b = blobs.get(k);
    if (!b) return;
    if (e.type === 'blob-progress') {
      b.sent = e.sent;
      if (mode === 'plain' && now() - b.lastLogged >= PLAIN_PROGRESS_EVERY_MS) {
        b.lastLogged = now();
        out.write(`${line(b)}\n`);
      }
    } else if (e.type === 'blob-done') {
      b.done = e.action;
      b.size = e.size;
      b.label = `${shortDigest(e.digest)} → ${b.place}`;
      if (mode === 'plain') {
        const took = now() - b.started;
        const extra = e.action === 'uploaded' ? ` in ${(took / 1000).toFixed(1)}s ${rate(e.size, took)}` : '';
        out.write(`${e.action.padEnd(9)} ${e.digest} ${formatBytes(e.size)} → ${e.place}${extra}\n`);
      }
    }
  };

  const clientEvent = (e: ClientEvent) => {
    countRetry(e);
    if (e.type === 'retry') {
      const of = (e as { of?: number }).of;
      say(`retry ${e.attempt}${of ? `/${of}` : ''} after ${e.reason}: ${e.method} ${e.url}`);
    } else if (e.type === 'fallback' && e.what !== 'http') {
      // (A loopback registry answering plain HTTP is the documented rule, not news.)
      say(`fallback ${e.what}: ${e.reason}${e.url ? ` (${e.url})` : ''}`);
    }
  };

  if (mode === 'tty') timer = setInterval(redraw, 200).unref();
  return {
    listener,
    clientEvent,
    retries: () => retried,
    end: () => {
      if (timer) {
        clearInterval(timer);
        redraw();
      }
    },
  };
}
