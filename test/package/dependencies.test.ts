/**
 * Runtime dependencies are exactly the packages the built library and CLI load: each one in
 * package.json `dependencies` is imported by dist/src (statically, lazily or via require), and
 * nothing dist/src imports is missing from them (a devDependency would be absent after install).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/fixtures.js';

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The package a bare specifier names: 'undici/lib/x.js' → 'undici', '@s/p/x' → '@s/p'. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

test('runtime dependencies are what dist/src imports at run time, no more, no less', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  // Compiled JS: type-only imports are gone, so what is left is loaded at run time.
  const loaded = new Set<string>();
  for (const file of jsFiles(path.join(repoRoot, 'dist', 'src'))) {
    const text = readFileSync(file, 'utf8');
    // tsc writes static imports and re-exports one per line; lazy ones are import()/require() calls.
    const statics = text.matchAll(/^(?:(?:import|export)\b[^'"\n]*?\bfrom|import)\s*['"]([^'"]+)['"]/gm);
    // `createRequire(import.meta.url)('x')` loads x as require('x') does.
    const calls = text.matchAll(/(?:\b(?:import|require)|\bcreateRequire\([^)]*\))\(\s*['"]([^'"]+)['"]\s*\)/g);
    for (const m of [...statics, ...calls]) {
      const spec = m[1]!;
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      loaded.add(packageOf(spec));
    }
  }
  assert.deepEqual([...loaded].sort(), Object.keys(pkg.dependencies).sort());
});
