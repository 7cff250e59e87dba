/**
 * Taking one measurement ("sample") the same way in every bench: the machine's background
 * load first, failures recorded as failed samples (the bench carries on), one log line.
 */
import type { Cell, Sample } from './cells.js';
import { lastLines, type Finished } from './child.js';
import { backgroundBusyPercent } from './cpu-load.js';

export const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export type Log = (line: string) => void;

export const benchLog =
  (name: string): Log =>
  (line) => {
    process.stderr.write(`bench ${name}: ${line}\n`);
  };

/** Runs one sample of `c`, recording the machine's background load first and any failure as a failed sample. */
export async function sample(c: Cell, label: string, fn: () => Promise<Sample>, log: Log): Promise<Sample> {
  const busy = await backgroundBusyPercent();
  let s: Sample;
  try {
    s = await fn();
  } catch (err) {
    s = { ok: false, seconds: 0, note: errText(err) };
  }
  if (busy !== undefined) s.backgroundBusy = busy;
  c.samples.push(s);
  const rss = s.peakRssMiB !== undefined ? `, ${s.peakRssMiB.toFixed(0)} MiB` : '';
  const req = s.requests ? `, ${Object.values(s.requests).reduce((a, b) => a + b, 0)} requests` : '';
  log(`[${c.profile}] ${label}: ${s.ok ? `${s.seconds.toFixed(3)} s${rss}${req}` : `FAILED (${s.note ?? ''})`}${s.ok && s.note ? ` — ${s.note}` : ''}`);
  return s;
}

/** Turns a finished command into a sample: failed unless exit 0. */
export function fromFinished(r: Finished): Sample {
  if (r.code !== 0) {
    return { ok: false, seconds: r.seconds, note: `${r.signal ?? `exit ${String(r.code)}`}: ${lastLines(r.stderr || r.stdout, 2)}` };
  }
  const s: Sample = { ok: true, seconds: r.seconds };
  if (r.peakRssMiB !== undefined) s.peakRssMiB = r.peakRssMiB;
  if (r.cpuSeconds !== undefined) s.cpuSeconds = r.cpuSeconds;
  return s;
}

/** A digest-cache home for tarpush (whichever variable it reads). */
export function cacheEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, TARPUSH_CACHE_DIR: dir, XDG_CACHE_HOME: dir };
}
