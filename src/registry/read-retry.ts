import type { RegistryClient } from './client.js';
import { isTransientNetworkError } from './errors.js';
import { RetryBudget } from './retry.js';

/**
 * Retry a whole read (request + bounded body) when its body breaks off mid-way: the
 * transport retries requests that got no answer, but a reset after the headers only shows
 * while the body is read. Only for reads whose result is held in memory. One budget covers
 * the transport's retries and these, with the read deadline (`readTimeoutMs`) over all tries.
 */
export async function withReadRetries<T>(client: RegistryClient, what: string, read: (budget: RetryBudget) => Promise<T>): Promise<T> {
  const budget = new RetryBudget(client.options, { deadlineMs: client.options.readTimeoutMs });
  for (;;) {
    try {
      return await read(budget);
    } catch (err) {
      if (!isTransientNetworkError(err) || !(await budget.retry({ method: 'GET', url: what }, 'body broke off'))) throw err;
    }
  }
}
