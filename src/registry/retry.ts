import { setTimeout as sleep } from 'node:timers/promises';
import { TarpushError } from '../errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * The one home of retrying: which answers are worth another try, how long to wait, and how
 * much failing one operation may do before it gives up. Every loop that repeats a request
 * (the transport, whole-body reads, the upload ladders) spends a `RetryBudget`.
 *
 * The numbers (defaults in options.ts), chosen so that
 *  - a registry restart is ridden out: waits grow 0.5, 1, 2, 4, 5, 5 … s (each drawn from
 *    [half, all] of that step, so their sum is never much below the plan) and trying goes on
 *    for `retryWindowMs` (30 s) after the first failure. Consecutive tries are at most
 *    `maxRetryWaitMs` (5 s) apart and the last one starts more than 25 s after the first
 *    failure, so an outage of up to ~25 s (refused connections, resets, 502/503) is survived.
 *    10 retries reach 18.75 s of waiting even when every draw is the shortest;
 *  - a frozen registry (accepts, then never answers or stops mid-body) fails within about a
 *    minute: a try stays idle at most `timeoutMs` (30 s) before it counts as failed, and the
 *    tries made in the window after that first failure are cut to what is left of the window.
 *    30 s + 30 s ≈ 60 s, whatever the number of retries;
 *  - a bounded read (manifest, config, token, tag page, error body) ends by its deadline
 *    (`readTimeoutMs`, 60 s) across all its tries, so a body trickled a byte at a time
 *    cannot hold a command forever.
 */

/** Answers that say "not now" rather than "no": the request may be repeated as it was. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Milliseconds a Retry-After header asks for (delta-seconds or HTTP-date), or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with "equal jitter": step = min(cap, base·2^(attempt-1)), the wait is
 * uniform in [step/2, step). Half of each step is certain, so the total waited over n retries
 * has a floor: a registry restart is outlasted however the dice fall.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(step / 2 + random() * (step / 2));
}

/** The shortest idle limit a try is given, even at the very end of a window. */
const MIN_TRY_MS = 1000;

export interface RetryTarget {
  method: string;
  /** Already safe to show (safeUrl, or a blob name). */
  url: string;
}

/**
 * What one operation may spend on failures: at most `retries` retries in a row (a step that
 * moves the operation forward — `progressed()` — starts a new run), no retry starting later
 * than `retryWindowMs` after the run's first failure, and none after `deadlineAt` when the
 * operation has a deadline. Each retry is logged as a `retry` event and waited for here.
 */
export class RetryBudget {
  private failures = 0;
  private firstFailureAt: number | undefined;
  /** Absolute time (ms) a bounded read must be done by; undefined for open-ended transfers. */
  readonly deadlineAt: number | undefined;

  constructor(
    private readonly opts: ResolvedOptions,
    limits: { deadlineMs?: number; retries?: number } = {},
  ) {
    this.deadlineAt = limits.deadlineMs === undefined ? undefined : Date.now() + limits.deadlineMs;
    this.retries = limits.retries ?? opts.retries;
  }

  /** Retries allowed in a row. */
  readonly retries: number;

  /** How long the next try may stay without progress before it counts as failed. */
  idleLimit(): number {
    let limit = this.opts.timeoutMs;
    const now = Date.now();
    if (this.firstFailureAt !== undefined) limit = Math.min(limit, Math.max(MIN_TRY_MS, this.firstFailureAt + this.opts.retryWindowMs - now));
    if (this.deadlineAt !== undefined) limit = Math.min(limit, Math.max(1, this.deadlineAt - now));
    return limit;
  }

  /** True once the deadline (if any) has passed. */
  expired(): boolean {
    return this.deadlineAt !== undefined && Date.now() >= this.deadlineAt;
  }

  /** The operation moved forward: the next failure starts a new run of retries. */
  progressed(): void {
    this.failures = 0;
    this.firstFailureAt = undefined;
  }

  /**
   * A try failed: the wait before the next one, or undefined when the budget is spent. Only
   * notes when the run of failures began; `spend` takes the retry. `retryAfterMs` (a
   * Retry-After header) replaces the backoff step, capped like it.
   */
  next(retryAfterMs?: number): number | undefined {
    const now = Date.now();
    this.firstFailureAt ??= now;
    if (this.failures >= this.retries) return undefined;
    const backoff = backoffDelay(this.failures + 1, this.opts.retryBaseMs, this.opts.maxRetryWaitMs);
    const delayMs = retryAfterMs !== undefined ? Math.min(retryAfterMs, this.opts.maxRetryWaitMs) : backoff;
    const startsAt = now + delayMs;
    if (startsAt > this.firstFailureAt + this.opts.retryWindowMs) return undefined;
    if (this.deadlineAt !== undefined && startsAt >= this.deadlineAt) return undefined;
    return delayMs;
  }

  /** Take one retry: log the `retry` event, then wait `delayMs` (from `next`). */
  async spend(target: RetryTarget, reason: string, delayMs: number): Promise<void> {
    this.failures++;
    this.opts.log({ type: 'retry', method: target.method, url: target.url, attempt: this.failures, of: this.retries, delayMs, reason });
    if (delayMs > 0) await sleep(delayMs);
  }

  /** `next` and `spend` in one: false when the budget is spent (the caller reports the failure). */
  async retry(target: RetryTarget, reason: string, retryAfterMs?: number): Promise<boolean> {
    const delayMs = this.next(retryAfterMs);
    if (delayMs === undefined) return false;
    await this.spend(target, reason, delayMs);
    return true;
  }
}

/**
 * The request and short reason a failed step's error names (TarpushErrors of errors.ts carry
 * `method`, `url`, `status` or `errno` in their details), for the retry line.
 */
export function failureOf(err: unknown, fallback: RetryTarget): { target: RetryTarget; reason: string } {
  const d = err instanceof TarpushError ? (err.details as { method?: unknown; url?: unknown; status?: unknown; errno?: unknown }) : {};
  const target = {
    method: typeof d.method === 'string' ? d.method : fallback.method,
    url: typeof d.url === 'string' ? d.url : fallback.url,
  };
  let reason = 'failed';
  if (typeof d.status === 'number') reason = String(d.status);
  else if (err instanceof TarpushError && err.code === 'TIMEOUT') reason = 'timeout';
  else if (typeof d.errno === 'string') reason = d.errno;
  return { target, reason };
}
