import { constants } from 'node:os';

/**
 * The one place temp files are removed when the process is stopped early. A module that
 * creates a temp file (a spooled stdin, a `.tmp-blob-*` in a layout) registers a
 * synchronous remover and unregisters it once the file is gone. On SIGINT, SIGTERM or
 * SIGHUP every registered remover runs; then, unless the host program listens to that
 * signal itself, the process exits with the shell's status for it (128 + signal number:
 * 130 for Ctrl-C, 143 for SIGTERM). Removers also run on a normal `exit`, so a file left
 * registered by an error path does not outlive the process. Removers are synchronous
 * because nothing asynchronous is guaranteed to run once a signal asks the process to go.
 * The handlers are installed once, on the first registration.
 */

export type Cleanup = () => void;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// A Set of wrappers, so the same function registered twice is removed once per registration.
const pending = new Set<{ run: Cleanup }>();
let installed = false;

/** Run `fn` if the process is stopped by a signal (or exits) before the returned function is called. */
export function registerCleanup(fn: Cleanup): () => void {
  install();
  const entry = { run: fn };
  pending.add(entry);
  return () => {
    pending.delete(entry);
  };
}

/** Run and forget every registered remover now (each at most once; one failing does not stop the others). */
export function runCleanups(): void {
  for (const entry of [...pending]) {
    pending.delete(entry);
    try {
      entry.run();
    } catch {
      // Best effort: the process is going away; a file that cannot be removed is swept by a later run.
    }
  }
}

function onSignal(signal: (typeof SIGNALS)[number]): void {
  runCleanups();
  // Keep the signal's meaning (stop) unless someone else handles it: then stopping is theirs to do.
  if (process.listenerCount(signal) <= 1) process.exit(128 + constants.signals[signal]);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', runCleanups);
}
