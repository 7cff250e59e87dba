import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryClient } from './client.js';
import { isTransientNetworkError } from './errors.js';
import { backoffDelay } from './transport.js';

/**
 * Retry a whole read (request + bounded body) when its body breaks off mid-way: the
 * transport retries requests that got no answer, but a reset after the headers only shows
 * while the body is read. Only for reads whose result is held in memory.
 */
export async function withReadRetries<T>(client: RegistryClient, what: string, read: () => Promise<T>): Promise<T> {
  const opts = client.options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= opts.tries || !isTransientNetworkError(err)) throw err;
      const delayMs = backoffDelay(attempt, opts.retryBaseMs, opts.maxRetryWaitMs);
      opts.log({ type: 'retry', method: 'GET', url: what, attempt, delayMs, reason: 'body broke off' });
      await sleep(delayMs);
    }
  }
}
