/**
 * One table row of the push bench ("cell"): what was run, every sample, and the issue's
 * target for it. Medians and verdicts are computed here, printing is in report.ts.
 */

export interface Sample {
  seconds: number;
  peakRssMiB?: number;
  /** CPU seconds (user + system) of the measured process, where GNU time measured them. */
  cpuSeconds?: number;
  ok: boolean;
  /** Why a sample failed, or a correctness remark (e.g. unexpected digest). */
  note?: string;
  /** CPU busy % of the machine just before the sample, with the bench idle. */
  backgroundBusy?: number;
  /** HTTP requests by method and TCP connections, as the WAN proxy saw them (not on loopback). */
  requests?: Record<string, number>;
  connections?: number;
  /** Bytes the proxy carried towards the registry. */
  bytesUp?: number;
}

export type Target =
  | { kind: 'floor-ratio'; max: number }
  | { kind: 'seconds'; max: number }
  | { kind: 'faster-than'; cellId: string }
  | { kind: 'ratio-to'; cellId: string; max: number };

export interface Cell {
  id: string;
  /** The link the cell ran over (wan-proxy profile name, or 'loopback'). */
  profile: string;
  format: string;
  tool: string;
  scenario: string;
  /** The command as run, with the registry port shown as PORT and temp dirs as placeholders. */
  command: string;
  samples: Sample[];
  target?: Target;
  /** tarpush's memory promise, checked on every sample. */
  rssLimitMiB?: number;
  /** Not a tool measurement (the floor, node -e ''): no RSS promise. */
  reference?: boolean;
  /** Show the ratio to the floor (cold pushes of the same image only). */
  vsFloor?: boolean;
  /** The skopeo cell doing the same job, for the ratio-to-skopeo column. */
  skopeoCellId?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const okSamples = (c: Cell): Sample[] => c.samples.filter((s) => s.ok);

export function cellMedian(c: Cell | undefined): number | undefined {
  const ok = c ? okSamples(c) : [];
  return ok.length ? median(ok.map((s) => s.seconds)) : undefined;
}

export function cellMin(c: Cell): number | undefined {
  const ok = okSamples(c);
  return ok.length ? Math.min(...ok.map((s) => s.seconds)) : undefined;
}

export function cellPeakRss(c: Cell): number | undefined {
  const xs = c.samples.map((s) => s.peakRssMiB).filter((x): x is number => x !== undefined);
  return xs.length ? Math.max(...xs) : undefined;
}

const requestTotal = (s: Sample): number => Object.values(s.requests ?? {}).reduce((a, b) => a + b, 0);

/** The sample with the median request count (its mix and connections), if any were counted. */
export function cellRequests(c: Cell): Sample | undefined {
  const counted = okSamples(c).filter((s) => s.requests);
  if (!counted.length) return undefined;
  const sorted = [...counted].sort((a, b) => requestTotal(a) - requestTotal(b));
  return sorted[(sorted.length - 1) >> 1];
}

export { requestTotal };

export function cellBusy(c: Cell): number | undefined {
  const xs = c.samples.map((s) => s.backgroundBusy).filter((x): x is number => x !== undefined);
  return xs.length ? Math.max(...xs) : undefined;
}

export function targetText(t: Target | undefined, cells: Map<string, Cell>): string {
  if (!t) return '';
  switch (t.kind) {
    case 'floor-ratio':
      return `≤ ${t.max}× floor`;
    case 'seconds':
      return `≤ ${t.max} s`;
    case 'faster-than': {
      const other = cells.get(t.cellId);
      return `< ${other ? `${other.tool} ${other.format}` : t.cellId}`;
    }
    case 'ratio-to': {
      const other = cells.get(t.cellId);
      return `≤ ${t.max}× ${other ? other.tool : t.cellId}`;
    }
  }
}

/** 'yes' / 'NO' / '?' (reference missing) / 'FAILED' for a cell, with every reason it is not met. */
export function verdict(c: Cell, cells: Map<string, Cell>, floorSeconds: number | undefined): { met: string; why?: string } {
  const failed = c.samples.filter((s) => !s.ok);
  if (c.samples.length === 0) return { met: 'not run' };
  if (failed.length) return { met: 'FAILED', why: `${failed.length}/${c.samples.length} runs failed: ${failed[0]!.note ?? ''}` };
  const m = cellMedian(c)!;
  const reasons: string[] = [];
  const rss = cellPeakRss(c);
  if (c.rssLimitMiB !== undefined && rss !== undefined && rss > c.rssLimitMiB) {
    reasons.push(`peak RSS ${rss.toFixed(0)} MiB > ${c.rssLimitMiB} MiB`);
  }
  const t = c.target;
  let limit: number | undefined; // the median must stay at or under (or, faster-than, under) this
  let missing = false;
  if (t) {
    switch (t.kind) {
      case 'floor-ratio':
        limit = floorSeconds === undefined ? undefined : t.max * floorSeconds;
        break;
      case 'seconds':
        limit = t.max;
        break;
      case 'faster-than':
        limit = cellMedian(cells.get(t.cellId));
        break;
      case 'ratio-to': {
        const ref = cellMedian(cells.get(t.cellId));
        limit = ref === undefined ? undefined : t.max * ref;
        break;
      }
    }
    if (limit === undefined) missing = true;
    else if (t.kind === 'faster-than' ? m >= limit : m > limit) {
      reasons.push(`median ${m.toFixed(3)} s, target ${targetText(t, cells)} = ${limit.toFixed(3)} s`);
    }
  }
  if (reasons.length) return { met: 'NO', why: reasons.join('; ') };
  if (missing) return { met: '?', why: 'reference not measured' };
  return { met: t || c.rssLimitMiB !== undefined ? 'yes' : '' };
}
