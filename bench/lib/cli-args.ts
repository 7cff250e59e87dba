/** Option parsing shared by the bench scripts (node:util parseArgs, numbers checked). */
import { parseArgs } from 'node:util';

export type BenchArgValues = Record<string, string | boolean | undefined>;

/**
 * Parses process.argv strictly (an unknown flag is an error, so a typo never silently runs a
 * 15-minute bench with defaults); prints `usage` and exits on --help.
 */
export function benchArgs(spec: Record<string, 'string' | 'boolean'>, usage: string): BenchArgValues {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, type] of Object.entries(spec)) options[name] = { type };
  const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values as BenchArgValues;
}

export function positiveInt(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}
