/**
 * Runs one measured command: wall time from spawn to exit (process.hrtime), its output, and
 * its peak RSS and CPU seconds — via GNU time (`/usr/bin/time -f "%M %U %S"`) when installed, else, for Node
 * commands, via rss-launcher.js. Every child runs in its own process group and is killed
 * (group-wide) on timeout or when the bench process exits, so nothing outlives a bench run.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Finished {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Peak resident set size of the measured process, MiB; undefined when not measurable. */
  peakRssMiB?: number;
  /** User + system CPU seconds of the measured process (GNU time only). */
  cpuSeconds?: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Measure peak RSS (adds a GNU time wrapper, ~1 ms). */
  rss?: boolean;
  timeoutMs?: number;
  /** Bytes for the child's stdin; stdin is closed (empty) otherwise. */
  input?: string;
}

const GNU_TIME = '/usr/bin/time';
const LAUNCHER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-launcher.js');

function gnuTimeAvailable(): boolean {
  if (process.env.TARPUSH_BENCH_NO_GNU_TIME === '1') return false; // exercise the fallback
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
export const rssMethod: 'gnu-time' | 'node-launcher' = gnuTimeAvailable() ? 'gnu-time' : 'node-launcher';

/** Process groups still running, killed if the bench exits early (error, Ctrl-C). */
const live = new Set<number>();
let hooked = false;
function killLiveOnExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const pid of live) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

let rssCounter = 0;

export function quoteCommand(cmd: string, args: string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function runTimed(cmd: string, args: string[], opts: RunOptions = {}): Promise<Finished> {
  killLiveOnExit();
  const command = quoteCommand(cmd, args);
  let file = cmd;
  let argv = args;
  let env = opts.env ?? process.env;
  let rssFile: string | undefined;
  if (opts.rss) {
    rssFile = path.join(os.tmpdir(), `tarpush-bench-rss-${process.pid}-${++rssCounter}`);
    if (rssMethod === 'gnu-time') {
      file = GNU_TIME;
      argv = ['-f', '%M %U %S', '-o', rssFile, cmd, ...args];
    } else if (cmd === process.execPath) {
      argv = [LAUNCHER, ...args];
      env = { ...env, TARPUSH_BENCH_RSS_FILE: rssFile };
    } else {
      rssFile = undefined; // no way to measure a foreign binary without GNU time
    }
  }
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd: opts.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a child that exits without reading stdin
    child.stdin.end(opts.input ?? '');
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, opts.timeoutMs);
    }
    child.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot start ${command}: ${e.message}`));
    });
    if (child.pid) live.add(child.pid);
    child.once('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (timer) clearTimeout(timer);
      if (child.pid) live.delete(child.pid);
      const finished: Finished = {
        command,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        seconds,
      };
      if (rssFile) {
        try {
          // GNU time writes "Command exited with non-zero status N" before the value on failure.
          const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '';
          const m = /^(\d+)(?: ([\d.]+) ([\d.]+))?$/.exec(last);
          if (m) {
            finished.peakRssMiB = Number(m[1]) / 1024;
            if (m[2] !== undefined) finished.cpuSeconds = Number(m[2]) + Number(m[3]);
          }
        } catch {
          // killed before it could write
        }
        rmSync(rssFile, { force: true });
      }
      resolve(finished);
    });
  });
}

/** runTimed, rejecting unless the command exits 0 (for set-up steps, not measurements). */
export async function runChecked(cmd: string, args: string[], opts: RunOptions = {}): Promise<Finished> {
  const r = await runTimed(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${r.command} failed (${r.signal ?? `exit ${String(r.code)}`}): ${lastLines(r.stderr || r.stdout)}`);
  }
  return r;
}

/** The last few non-empty lines of a command's output, for one-line failure messages. */
export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').filter(Boolean).slice(-n).join(' | ').slice(0, 400);
}
