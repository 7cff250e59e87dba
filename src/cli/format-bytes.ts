/** 1536 → "1.5 KB" (decimal units, as registries and docker print them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** `sha256:0123456789ab…` shortened for display. */
export const shortDigest = (d: string): string => (d.startsWith('sha256:') ? d.slice(7, 19) : d.slice(0, 24));
