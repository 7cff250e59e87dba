/**
 * Sizes, rates and durations for people: the one formatter behind progress, inspect, notes and
 * errors. Binary units (KiB, MiB, GiB), as skopeo, regctl, `ls -lh` and du print them; every
 * number is rounded (never `70.54263565891473 B/s`). Exact byte counts, where a message needs
 * them, are printed as integers with "bytes".
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** The number and the unit apart: 1536 → ['1.5', 'KiB']; 100 MiB and up without a decimal. */
export function bytesParts(n: number): [string, string] {
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return [String(Math.round(v)), 'B'];
  let text = v >= 100 ? v.toFixed(0) : v.toFixed(1);
  // 1023.96 KiB rounds to "1024 KiB": say "1.0 MiB" instead.
  if (Number(text) >= 1024 && u < UNITS.length - 1) {
    u++;
    text = (v / 1024).toFixed(1);
  }
  return [text, UNITS[u]!];
}

/** 1536 → "1.5 KiB"; 999 → "999 B". */
export function formatBytes(n: number): string {
  return bytesParts(n).join(' ');
}

/** "3.4/10.0 MiB" when both share a unit, else "900 KiB/1.5 MiB". */
export function formatBytesOf(done: number, total: number): string {
  const [a, ua] = bytesParts(done);
  const [b, ub] = bytesParts(total);
  return ua === ub ? `${a}/${b} ${ub}` : `${a} ${ua}/${b} ${ub}`;
}

/** Bytes over milliseconds: "12.3 MiB/s"; '' when no time has passed. */
export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes((bytes * 1000) / ms)}/s` : '';
}

/** 3240 → "3.2s", 42_000 → "42s", 245_000 → "4m05s", 3_725_000 → "1h02m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 59.5) return `${Math.round(s)}s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
