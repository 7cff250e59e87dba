/**
 * Writes the malformed-archive corpus to a directory for manual runs:
 *   node dist/test/corpus/make-malformed-cli.js <dir>
 * then e.g. `for f in <dir>/*; do tarpush inspect "$f"; done`. The directory gets every
 * case plus cases.json (name, file, expected code, note) to compare the answers with.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeMalformedCorpus } from './make-malformed.js';

async function main(argv: string[]): Promise<number> {
  const [dir] = argv;
  if (!dir || argv.length !== 1 || dir.startsWith('-')) {
    process.stderr.write('usage: make-malformed-cli <dir>   (writes the malformed-archive corpus and cases.json into <dir>)\n');
    return 2;
  }
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const cases = await makeMalformedCorpus(out);
  const index = cases.map(({ defect: _defect, ...c }) => c);
  writeFileSync(join(out, 'cases.json'), JSON.stringify(index, null, 2) + '\n');
  for (const c of cases) process.stdout.write(`${c.expectCode.padEnd(24)} ${c.needsVerify ? '[verify] ' : ''}${c.file}\n`);
  process.stdout.write(`${cases.length} cases written to ${out} (index: cases.json)\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
