/**
 * The one home for making outside text (archive entry names, manifest strings, registry
 * bodies, helper stderr, tag lists) safe to print: a terminal must never receive a raw
 * newline, ESC or bidi override from an archive or a server, and a one-line error must stay
 * one line. Every printer of text that did not come from tarpush itself goes through here.
 */

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates,
// and the BOM / zero-width no-break space.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control or direction-changing character written as an escape (`\n`, `\x1b`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * `JSON.stringify(value)` safe for a terminal and still the same JSON: JSON.stringify
 * escapes C0 controls but leaves DEL, C1 controls (0x9b is CSI to some terminals), U+2028/
 * U+2029 and bidi overrides raw; those are written as `\uXXXX` too. Outside strings its
 * output is plain ASCII, so the replacement only ever touches string contents, and
 * JSON.parse gives back exactly `value`.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** True when `text` would print as itself. */
export function isPrintable(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return !UNSAFE.test(text);
}

/**
 * A short, escaped excerpt of a body someone else wrote (a registry's error, a helper's
 * stderr): at most `max` characters, whitespace runs folded, `…` when cut.
 */
export function snippet(text: string, max = 200): string {
  const folded = text.replace(/\s+/g, ' ').trim();
  const cut = folded.length > max ? `${folded.slice(0, max)}…` : folded;
  return printable(cut);
}
