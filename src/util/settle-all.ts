/**
 * Like Promise.all, but waits for every promise to settle before rejecting with the first
 * error. A failed upload must not leave sibling uploads running unobserved (their later
 * failures would be unhandled rejections, and the archive they read may be closed under them).
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
