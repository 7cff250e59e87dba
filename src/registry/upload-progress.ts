import type { ProgressFn } from '../image/sink.js';

/**
 * Progress of one blob upload: `base` (what the session already holds) plus the bytes of
 * the request now sending. A retried or resumed request starts again at its offset, so the
 * count never runs past what the registry may hold.
 */
export class Progress {
  private base = 0;
  private current = 0;
  constructor(private readonly fn: ProgressFn | undefined) {}
  startAt(offset: number): void {
    this.base = offset;
    this.current = 0;
    this.fn?.(offset);
  }
  add = (n: number): void => {
    this.current += n;
    this.fn?.(this.base + this.current);
  };
}
