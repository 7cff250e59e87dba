import type { PublishEvent } from '../../publish/events.js';

/** What a blob is doing, as the progress display names it. */
export type Phase = 'waiting' | 'checking' | 'sending' | 'compressing' | 'committing' | 'verifying' | 'exists' | 'mounted' | 'done';

const FINISHED: ReadonlySet<Phase> = new Set(['exists', 'mounted', 'done']);

export interface BlobRow {
  place: string;
  /** The stable display id: the digest's hex, or the diff_id's for a layer compressed on the way. */
  id: string;
  /** The same in full (`sha256:…`), for logs. */
  fullId: string;
  /** The blob's digest: known from the start, or (a layer compressed on the way) once it is stored. */
  digest?: string;
  compressing: boolean;
  phase: Phase;
  /** The phase it finished in, for when a content check after it ends. */
  finalPhase?: Phase;
  size?: number;
  sent: number;
  /** When the transfer began (ms). */
  started?: number;
  finishedAt?: number;
  /** Plain mode: when this row last got a line. */
  lastLogged: number;
  order: number;
}

export const isFinished = (r: BlobRow): boolean => FINISHED.has(r.phase);
export const isActive = (r: BlobRow): boolean => r.phase !== 'waiting' && !isFinished(r);

/** `sha256:0123456789ab…` → `0123456789ab`; a transcoding key names its diff_id. */
export function displayId(id: string, length = 12): string {
  const base = id.split('>')[0]!;
  return base.startsWith('sha256:') ? base.slice(7, 7 + length) : base.slice(0, length);
}

const RATE_WINDOW_MS = 5000;

/**
 * The state of every blob of a publish, fed by PublishEvents: one row per (place, blob) for its
 * whole life, whatever id the events use (a diff_id while compressing, the digest after).
 */
export class Board {
  readonly rows = new Map<string, BlobRow>();
  private readonly byDigest = new Map<string, BlobRow[]>();
  private samples: Array<{ t: number; sent: number }> = [];
  private order = 0;
  private firstAt: number | undefined;

  constructor(private readonly now: () => number) {}

  /** The row an event is about (created by blob-queued or blob-start), after applying it. */
  apply(e: PublishEvent): BlobRow | undefined {
    if (e.type === 'blob-phase') {
      const rows = (this.byDigest.get(e.digest) ?? []).filter((r) => r.place === e.place);
      for (const r of rows) r.phase = e.phase === 'verifying' ? 'verifying' : (r.finalPhase ?? 'done');
      return rows[0];
    }
    if (e.type !== 'blob-queued' && e.type !== 'blob-start' && e.type !== 'blob-progress' && e.type !== 'blob-done') return undefined;
    const key = `${e.place}\0${e.id}`;
    let r = this.rows.get(key);
    const t = this.now();
    this.firstAt ??= t;
    if (!r) {
      r = { place: e.place, id: displayId(e.id), fullId: e.id.split('>')[0]!, compressing: e.id.includes('>'), phase: 'waiting', sent: 0, lastLogged: t, order: this.order++ };
      this.rows.set(key, r);
      if (!r.compressing) {
        r.digest = e.id;
        this.index(e.id, r);
      }
    }
    switch (e.type) {
      case 'blob-queued':
        if (e.size !== undefined) r.size = e.size;
        break;
      case 'blob-start':
        r.started = t;
        r.lastLogged = t;
        if (e.size !== undefined) r.size = e.size;
        r.phase = e.compressing ? 'compressing' : 'checking';
        break;
      case 'blob-progress': {
        this.sample(e.sent - r.sent);
        r.sent = e.sent;
        r.phase = r.compressing ? 'compressing' : r.size !== undefined && r.sent >= r.size ? 'committing' : 'sending';
        break;
      }
      case 'blob-done':
        r.size = e.size;
        r.finishedAt = t;
        r.phase = e.action === 'uploaded' ? 'done' : e.action;
        r.finalPhase = r.phase;
        if (r.compressing) {
          r.digest = e.digest;
          this.index(e.digest, r);
        }
        break;
    }
    return r;
  }

  private index(digest: string, r: BlobRow): void {
    const list = this.byDigest.get(digest) ?? [];
    list.push(r);
    this.byDigest.set(digest, list);
  }

  private sample(delta: number): void {
    const t = this.now();
    // The first bytes count too: the window starts from nothing sent.
    if (this.samples.length === 0) this.samples.push({ t, sent: 0 });
    const last = this.samples[this.samples.length - 1];
    this.samples.push({ t, sent: (last?.sent ?? 0) + Math.max(0, delta) });
    while (this.samples.length > 2 && this.samples[0]!.t < t - RATE_WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second over the last few seconds (0 before two samples, or when nothing moved lately). */
  rate(): number {
    const t = this.now();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t < t - RATE_WINDOW_MS) return 0;
    const span = Math.max(t - first.t, 1000);
    return ((last.sent - first.sent) * 1000) / span;
  }

  totals(): Totals {
    let done = 0;
    let active = 0;
    let waiting = 0;
    let bytesDone = 0;
    let bytesTotal = 0;
    let unknown = 0;
    let sent = 0;
    for (const r of this.rows.values()) {
      sent += r.sent;
      if (isFinished(r)) done++;
      else if (r.phase === 'waiting') waiting++;
      else active++;
      if (r.size === undefined) unknown++;
      else bytesTotal += r.size;
      bytesDone += isFinished(r) || r.phase === 'verifying' ? (r.size ?? r.sent) : r.sent;
    }
    const rate = this.rate();
    const etaMs = unknown === 0 && rate > 0 && bytesTotal > bytesDone ? ((bytesTotal - bytesDone) * 1000) / rate : undefined;
    const elapsedMs = this.firstAt === undefined ? 0 : this.now() - this.firstAt;
    return { count: this.rows.size, done, active, waiting, bytesDone, bytesTotal, sizesUnknown: unknown, rate, sent, elapsedMs, ...(etaMs !== undefined ? { etaMs } : {}) };
  }

  places(): Set<string> {
    return new Set([...this.rows.values()].map((r) => r.place));
  }
}

export interface Totals {
  count: number;
  done: number;
  active: number;
  waiting: number;
  bytesDone: number;
  bytesTotal: number;
  /** Rows whose size is not known yet (layers compressed on the way): no ETA then. */
  sizesUnknown: number;
  /** Bytes per second, recent. */
  rate: number;
  /** Bytes sent so far (blobs present or mounted send none), and the time since the first event. */
  sent: number;
  elapsedMs: number;
  etaMs?: number;
}
