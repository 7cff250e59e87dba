/** The push bench's markdown: the results table and bench/results.md around it. */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { runTimed } from './child.js';
import { repoRoot } from './paths.js';
import { cellBusy, cellMedian, cellMin, cellPeakRss, cellRequests, requestTotal, targetText, verdict, type Cell } from './cells.js';
import { requestMix } from './wan-proxy.js';

const fmt = (n: number | undefined, digits: number): string => (n === undefined ? '—' : n.toFixed(digits));

/** A table of `cells` (one link profile); ratios against the floor cell and each cell's skopeo peer. */
export function resultsTable(cells: Cell[], floorCellId: string | undefined, allCells: Cell[] = cells): string {
  const byId = new Map(allCells.map((c) => [c.id, c]));
  const floor = floorCellId ? cellMedian(byId.get(floorCellId)) : undefined;
  const head = ['format', 'tool', 'case', 'median s', 'min s', '× floor', '× skopeo', 'requests', 'conns', 'peak RSS MiB', 'target', 'met', 'runs', 'bg CPU %'];
  const rows = [head, head.map(() => '---')];
  const notes: string[] = [];
  for (const c of cells) {
    const m = cellMedian(c);
    const v = verdict(c, byId, floor);
    if (v.why) notes.push(`- ${c.tool} ${c.format} (${c.scenario}): ${v.why}`);
    for (const s of c.samples) if (s.ok && s.note) notes.push(`- ${c.tool} ${c.format} (${c.scenario}): ${s.note}`);
    const peer = c.skopeoCellId ? cellMedian(byId.get(c.skopeoCellId)) : undefined;
    const req = cellRequests(c);
    rows.push([
      c.format,
      c.tool,
      c.scenario,
      fmt(m, 3),
      fmt(cellMin(c), 3),
      c.vsFloor && m !== undefined && floor !== undefined ? `${(m / floor).toFixed(2)}×` : '—',
      m !== undefined && peer !== undefined ? `${(m / peer).toFixed(2)}×` : '—',
      req?.requests ? `${requestTotal(req)} (${requestMix(req.requests)})` : '—',
      req?.connections !== undefined ? String(req.connections) : '—',
      fmt(cellPeakRss(c), 0),
      targetText(c.target, byId),
      v.met,
      `${c.samples.filter((s) => s.ok).length}/${c.samples.length}`,
      fmt(cellBusy(c), 0),
    ]);
  }
  const table = rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
  return notes.length ? `${table}\n\n${[...new Set(notes)].join('\n')}` : table;
}

export interface MachineFacts {
  date: string;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  kernel: string;
  skopeo?: string;
  registry?: string;
  loadAtStart: number[];
  loadAtEnd?: number[];
}

export function machineFacts(): MachineFacts {
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAtStart: os.loadavg(),
  };
}

/** First line of `cmd args` (a --version), or undefined when it is not installed. */
export async function toolVersion(cmd: string, args: string[]): Promise<string | undefined> {
  const r = await runTimed(cmd, args, { timeoutMs: 10_000 }).catch(() => undefined);
  return r && r.code === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

/** The facts plus the versions of the tools the benches compare against. */
export async function machineFactsWithTools(): Promise<MachineFacts> {
  const facts = machineFacts();
  facts.skopeo = await toolVersion('skopeo', ['--version']);
  facts.registry = await toolVersion('docker-registry', ['--version']);
  return facts;
}

export const revision = (): Promise<string | undefined> => toolVersion('git', ['-C', repoRoot, 'describe', '--always', '--dirty']);

export function machineMarkdown(f: MachineFacts): string {
  const load = (l: number[] | undefined): string => (l ? l.map((x) => x.toFixed(2)).join(' / ') : '—');
  return [
    `Date: ${f.date}. Machine: ${f.cpus} cores (${f.cpuModel}), ${f.memGiB} GiB RAM, ${f.kernel}; Node ${f.node}` +
      `${f.skopeo ? `; ${f.skopeo}` : ''}${f.registry ? `; ${f.registry}` : ''}.`,
    `Load average (1/5/15 min) at start: ${load(f.loadAtStart)}; at end: ${load(f.loadAtEnd)}.`,
  ].join('\n');
}

/** One bench script's part of bench/results.md. */
export interface Section {
  title: string;
  /** The command that produced it. */
  command: string;
  image?: string;
  settings: string;
  body: string;
  remarks: string[];
  commands: string[];
}

export const COLUMNS_NOTE = [
  'Columns: *median s* / *min s* over the successful runs (wall time of the whole command,',
  'process start to exit); *× floor* = median ÷ the floor\'s median on the same link (for docker-save the',
  'pusher must also gzip, so that ratio is informative only); *× skopeo* = median ÷ skopeo\'s median',
  'for the same job on the same link; *requests* (by method) and *conns* = what the WAN proxy saw',
  'for one push (the run with the median count; not counted on loopback, where there is no proxy);',
  '*peak RSS* = the highest max-RSS of the measured process over the runs; *bg CPU %* = the highest',
  'share of all cores that other processes used in the 0.25 s before a run (bench idle): above',
  '~10 % the number was taken on a loaded machine.',
].join('\n');

export function sectionMarkdown(d: Section): string {
  return [
    `## ${d.title}`,
    '',
    `Generated by \`${d.command}\` (see bench/README.md).`,
    '',
    ...(d.image ? [`Image: ${d.image}`, ''] : []),
    `Settings: ${d.settings}`,
    '',
    d.body,
    '',
    ...(d.remarks.length ? ['Remarks:', '', ...d.remarks.map((r) => `- ${r}`), ''] : []),
    ...(d.commands.length
      ? [
          'Commands (PORT = a fresh loopback registry or the WAN proxy in front of it, CACHE = a fresh or primed TARPUSH_CACHE_DIR/XDG_CACHE_HOME):',
          '',
          '```sh',
          ...d.commands,
          '```',
          '',
        ]
      : []),
  ].join('\n');
}

/** A whole results file: the machine, then each section. */
export function resultsMarkdown(facts: MachineFacts, sections: string[], intro = ''): string {
  return ['# tarpush benchmarks — results', '', ...(intro ? [intro, ''] : []), machineMarkdown(facts), '', ...sections].join('\n');
}

/** A script run on its own with `--out FILE`: its section with the machine facts around it. */
export async function writeStandalone(file: string, facts: MachineFacts, section: string): Promise<void> {
  facts.loadAtEnd = os.loadavg();
  await writeFile(file, resultsMarkdown(facts, [section]));
}
