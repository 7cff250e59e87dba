import { TarpushError, type ErrorCode } from '../errors.js';
import { printable } from '../util/printable.js';

/**
 * Small shape checks for JSON documents (manifests, indexes, configs, manifest.json): each
 * failure names the document (`where`) and the field path, so a user can find the problem.
 */

export type JsonObject = Record<string, unknown>;

export class Shape {
  constructor(
    readonly code: ErrorCode,
    readonly where: string,
  ) {}

  fail(field: string, problem: string): never {
    const at = field ? ` field ${field}` : '';
    // Field names and values come from the document: escaped, so the error stays one plain line.
    throw new TarpushError(this.code, printable(`${this.where}:${at} ${problem}`), { entry: this.where, field });
  }

  parse(raw: Buffer | string, what: string): unknown {
    try {
      return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch (err) {
      throw new TarpushError(this.code, printable(`${this.where}: ${what} is not valid JSON (${(err as Error).message})`), { entry: this.where }, { cause: err });
    }
  }

  object(v: unknown, field: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `must be an object, got ${kind(v)}`);
    return v as JsonObject;
  }

  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array, got ${kind(v)}`);
    return v;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${kind(v)}`);
    return v;
  }

  optString(v: unknown, field: string): string | undefined {
    return v === undefined ? undefined : this.string(v, field);
  }

  stringArray(v: unknown, field: string): string[] {
    return this.array(v, field).map((s, i) => this.string(s, `${field}[${i}]`));
  }

  stringMap(v: unknown, field: string): Record<string, string> {
    const o = this.object(v, field);
    for (const [k, s] of Object.entries(o)) this.string(s, `${field}.${k}`);
    return o as Record<string, string>;
  }

  /** A size: a non-negative integer that a JS number holds exactly. */
  size(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  }
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}
