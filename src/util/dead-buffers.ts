import vm from 'node:vm';

/**
 * Dead buffers are freed sooner than V8 would free them on its own.
 *
 * A push allocates a few hundred KiB of Buffer per chunk (file reads, zlib output) and
 * almost no JavaScript objects, so V8 hardly ever collects: it frees the dead chunks only
 * once 64 MiB more of them than at the last collection exist ("external memory pressure").
 * Each isolate (the main thread, the verification worker) would then carry up to 64 MiB of
 * garbage. Code that streams bytes calls `noteBufferChurn(n)` per chunk; every
 * CHURN_COLLECT_BYTES a young-generation collection runs (well under a millisecond with a
 * small young generation), which frees the chunks that died since the last one. The interval
 * is several times what a chunk lives (see docs/decisions.md "Memory"), so chunks still in
 * use survive at most one collection and are not promoted to the old generation, which only
 * a full collection frees.
 *
 * The collector is V8's `gc` extension, which bin/tarpush.js enables (`--expose-gc` through
 * v8.setFlagsFromString) before anything else runs. Where it is not enabled (tarpush used as
 * a library), this does nothing.
 */

/** Bytes of churn between two collections, per isolate. */
export const CHURN_COLLECT_BYTES = 4 << 20;

type Gc = (opts: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined; // undefined: not looked up yet; null: not available
let since = 0;
let collections = 0;

function lookUpGc(): Gc | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Gc; // --expose-gc on the command line, or a worker made after the flag
  try {
    // The flag set at run time exposes `gc` to contexts created after it, not to this one.
    const f: unknown = vm.runInNewContext('gc');
    return typeof f === 'function' ? (f as Gc) : null;
  } catch {
    return null;
  }
}

/** `n` bytes of Buffer were allocated for one chunk (and will soon be dead). */
export function noteBufferChurn(n: number): void {
  since += n;
  if (since < CHURN_COLLECT_BYTES) return;
  since = 0;
  if (gc === undefined) gc = lookUpGc();
  if (!gc) return;
  gc({ type: 'minor' });
  collections++;
}

/** Young collections run by noteBufferChurn in this isolate (for tests). */
export const churnCollections = (): number => collections;
