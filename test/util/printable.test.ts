import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrintable, printable, printableJson, snippet } from '../../src/util/printable.js';

test('printable escapes newlines, ESC, DEL, C1 and bidi overrides', () => {
  assert.equal(printable('a\nb\r\tc'), 'a\\nb\\r\\tc');
  assert.equal(printable('\x1b[31mred'), '\\x1b[31mred');
  assert.equal(printable('x\x7fy\x85z'), 'x\\x7fy\\x85z');
  assert.equal(printable('evil\u202egnp.tar'), 'evil\\u202egnp.tar');
  assert.equal(printable('line\u2028sep'), 'line\\u2028sep');
  assert.equal(printable('\u0000nul'), '\\x00nul');
});

test('printable leaves ordinary text, including non-ASCII letters, alone', () => {
  for (const s of ['registry.example/app:1.2', 'sha256:abc', 'café — ok', '日本語']) {
    assert.equal(printable(s), s);
    assert.equal(isPrintable(s), true);
  }
  assert.equal(isPrintable('a\nb'), false);
  assert.equal(isPrintable('a\nb'), false); // the global regex keeps no state between calls
});

test('snippet folds whitespace, cuts long bodies and escapes what is left', () => {
  assert.equal(snippet('  <html>\n  <body>oops</body>\n</html> '), '<html> <body>oops</body> </html>');
  const long = snippet('x'.repeat(500), 20);
  assert.equal(long, `${'x'.repeat(20)}…`);
  assert.equal(snippet('a\x1b]0;title\x07b'), 'a\\x1b]0;title\\x07b');
});

test('printableJson: the same JSON, with nothing a terminal would act on', () => {
  const value = { tags: ['a\nb', 'x\x1b[2J', 'del\x7f', 'csi\x9b', 'ls\u2028ps\u2029', 'rlo\u202e', 'ok "quoted" \\'] };
  const text = printableJson(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(isPrintable(text), true, text);
  assert.match(text, /ls\\u2028ps\\u2029/);
  assert.equal(printableJson({ a: 'plain', n: 1 }), JSON.stringify({ a: 'plain', n: 1 }));
});
