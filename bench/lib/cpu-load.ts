/**
 * How busy the machine is while the bench itself is idle: the share of CPU time (all cores)
 * spent outside the idle/iowait counters of /proc/stat over a short window. Sampled before
 * each measurement so the report can say which numbers were taken on a loaded machine.
 */
import { readFile } from 'node:fs/promises';

async function cpuTimes(): Promise<{ idle: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest fields are inside user/nice)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return undefined; // not Linux
  }
}

/** Percent of all cores busy during `ms` while we wait; undefined where /proc/stat is missing. */
export async function backgroundBusyPercent(ms = 250): Promise<number | undefined> {
  const a = await cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = await cpuTimes();
  if (!a || !b || b.total === a.total) return undefined;
  return (100 * (1 - (b.idle - a.idle) / (b.total - a.total)));
}
