/**
 * `node rss-launcher.js <entry.js> [args…]`: runs a Node entry script in this very process and,
 * at exit, writes its peak RSS (KiB, from process.resourceUsage) to $TARPUSH_BENCH_RSS_FILE.
 * Used to measure tarpush's memory where GNU time (`/usr/bin/time -f %M`) is not installed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: rss-launcher.js <entry.js> [args…]\n');
  process.exit(2);
}
const rssFile = process.env.TARPUSH_BENCH_RSS_FILE;
// The entry reads its arguments from process.argv.slice(2), as if it had been started directly.
process.argv = [process.argv[0]!, path.resolve(entry), ...rest];
process.on('exit', () => {
  if (rssFile) writeFileSync(rssFile, `${process.resourceUsage().maxRSS}\n`);
});
await import(pathToFileURL(path.resolve(entry)).href);
