import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isTarpushError } from '../../src/errors.js';
import { repoRoot } from '../support/fixtures.js';
import { checkDefect } from './defects.js';
import { makeMalformedCorpus, type MalformedCase } from './make-malformed.js';

/** The codes src/errors.ts declares, read from its source (the lists are not exported). */
function declaredErrorCodes(): Set<string> {
  const src = readFileSync(join(repoRoot, 'src', 'errors.ts'), 'utf8');
  const codes = new Set<string>();
  for (const list of src.matchAll(/const \w+Codes = \[([\s\S]*?)\] as const;/g)) {
    for (const m of list[1]!.matchAll(/'([A-Z_]+)'/g)) codes.add(m[1]!);
  }
  return codes;
}

describe('malformed-archive corpus', () => {
  let dir: string;
  let cases: MalformedCase[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tarpush-corpus-'));
    cases = await makeMalformedCorpus(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 45 cases with unique names and files', () => {
    assert.ok(cases.length >= 45, `${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'names unique');
    assert.equal(new Set(cases.map((c) => c.file)).size, cases.length, 'files unique');
    for (const c of cases) {
      assert.match(c.name, /^[a-z0-9][a-z0-9-]*$/, `${c.name} is file-name safe`);
      assert.ok(c.note.length >= 10, `${c.name} explains itself`);
      assert.ok(existsSync(c.file), `${c.file} exists`);
      assert.ok(c.file.startsWith(dir), `${c.name} written inside the corpus dir`);
    }
  });

  it('expects only codes that src/errors.ts declares', () => {
    const codes = declaredErrorCodes();
    assert.ok(codes.size >= 20 && codes.has('ARCHIVE_TRUNCATED'), 'parsed the code lists of src/errors.ts');
    for (const c of cases) {
      assert.ok(codes.has(c.expectCode), `${c.name}: ${c.expectCode} is a declared code`);
      for (const alt of c.alsoAccept ?? []) assert.ok(codes.has(alt), `${c.name}: ${alt} is a declared code`);
      assert.ok(!(c.alsoAccept ?? []).includes(c.expectCode), `${c.name}: alsoAccept repeats expectCode`);
    }
  });

  it('covers the defect families the readers must handle', () => {
    const byCode = new Map<string, number>();
    for (const c of cases) byCode.set(c.expectCode, (byCode.get(c.expectCode) ?? 0) + 1);
    for (const code of [
      'ARCHIVE_EMPTY', 'ARCHIVE_NOT_TAR', 'ARCHIVE_TRUNCATED', 'ARCHIVE_FORMAT_UNKNOWN', 'ARCHIVE_ENTRY_MISSING',
      'ARCHIVE_ENTRY_UNSAFE', 'ARCHIVE_LINK_LOOP', 'ARCHIVE_DUPLICATE_ENTRY', 'ARCHIVE_TOO_LARGE', 'MANIFEST_INVALID',
      'CONFIG_INVALID', 'MEDIA_TYPE_UNKNOWN', 'LAYER_COUNT_MISMATCH', 'DIGEST_MISMATCH', 'SIZE_MISMATCH',
      'DIFF_ID_MISMATCH', 'IMAGE_NO_LAYERS', 'LAYOUT_INVALID',
    ]) {
      assert.ok((byCode.get(code) ?? 0) > 0, `some case expects ${code}`);
    }
    assert.ok(cases.some((c) => c.needsVerify), 'some cases need --verify');
    assert.ok(cases.some((c) => statSync(c.file).isDirectory()), 'some cases are layout directories');
  });

  it('every file carries the defect its case claims', async () => {
    const wrong: string[] = [];
    for (const c of cases) {
      const why = await checkDefect(c.file, c.defect);
      if (why) wrong.push(`${c.name}: ${why}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('truncated tar cases end mid-entry, off the 512-byte grid where cut inside a block', async () => {
    const truncated = cases.filter((c) => c.expectCode === 'ARCHIVE_TRUNCATED' && !c.file.endsWith('.gz'));
    assert.ok(truncated.length >= 8);
    for (const c of truncated) {
      assert.equal(await checkDefect(c.file, { kind: 'tar-problem', problem: 'truncated' }), undefined, c.name);
    }
    const offGrid = truncated.filter((c) => statSync(c.file).size % 512 !== 0);
    assert.ok(offGrid.length >= 5, `${offGrid.length} truncated files are cut inside a block`);
  });

  it('the CLI writes the corpus and its index', async () => {
    const out = join(dir, 'cli-out');
    const cli = join(repoRoot, 'dist', 'test', 'corpus', 'make-malformed-cli.js');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [cli, out], { timeout: 60_000 }, (err, so) => (err ? reject(err) : resolve(so))),
    );
    const index = JSON.parse(readFileSync(join(out, 'cases.json'), 'utf8')) as { name: string; file: string; expectCode: string }[];
    assert.equal(index.length, cases.length);
    assert.deepEqual(
      index.map((c) => c.name),
      cases.map((c) => c.name),
    );
    for (const c of index) assert.ok(existsSync(c.file), `${c.file} written`);
    assert.match(stdout, new RegExp(`${cases.length} cases written`));
    await assert.rejects(
      new Promise((resolve, reject) => execFile(process.execPath, [cli], (err) => (err ? reject(err) : resolve(undefined)))),
      (e: { code?: number }) => e.code === 2,
    );
  });
});

// ------------------------------------------------------------------------------------------
// The readers over the corpus — runs once src/archive/open.ts (openArchive) exists.
// ------------------------------------------------------------------------------------------

const openModule = join(repoRoot, 'dist', 'src', 'archive', 'open.js');
const verifyModule = join(repoRoot, 'dist', 'src', 'image', 'verify.js');

type AnyImage = { kind: 'image' } | { kind: 'index'; manifests: readonly { item: AnyImage }[] };
interface OpenedArchive {
  images: readonly { root: AnyImage }[];
  close(): Promise<void>;
}

function leafImages(root: AnyImage): AnyImage[] {
  return root.kind === 'image' ? [root] : root.manifests.flatMap((m) => leafImages(m.item));
}

const TIME_LIMIT_MS = 10_000;
const BOMB_TIME_LIMIT_MS = 60_000;
const RSS_GROWTH_LIMIT = 512 * 1024 * 1024;

describe('readers reject every malformed archive with its code', { skip: existsSync(openModule) ? false : 'src/archive/open.ts not built yet' }, () => {
  it('openArchive (+ verifyImage for needsVerify cases) fails bounded, with the expected code', { timeout: 15 * 60_000 }, async () => {
    const { openArchive } = (await import(pathToFileURL(openModule).href)) as { openArchive: (path: string) => Promise<OpenedArchive> };
    const verifyMod = existsSync(verifyModule)
      ? ((await import(pathToFileURL(verifyModule).href)) as { verifyImage?: (img: AnyImage) => Promise<unknown> })
      : undefined;
    const verifyImage = verifyMod?.verifyImage;
    const dir = mkdtempSync(join(tmpdir(), 'tarpush-corpus-run-'));
    const disagreements: string[] = [];
    try {
      const cases = await makeMalformedCorpus(dir);
      for (const c of cases) {
        if (c.needsVerify && !verifyImage) continue;
        const limit = c.name === 'gzip-bomb' ? BOMB_TIME_LIMIT_MS : TIME_LIMIT_MS;
        const rssBefore = process.resourceUsage().maxRSS * 1024;
        const started = performance.now();
        let outcome: unknown = 'accepted';
        let timer: NodeJS.Timeout | undefined;
        try {
          const work = (async () => {
            const archive = await openArchive(c.file);
            try {
              if (c.needsVerify) for (const img of archive.images) for (const leaf of leafImages(img.root)) await verifyImage!(leaf);
            } finally {
              await archive.close();
            }
          })();
          await Promise.race([
            work,
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
            }),
          ]);
        } catch (e) {
          outcome = e;
        } finally {
          clearTimeout(timer);
        }
        const ms = Math.round(performance.now() - started);
        const rssGrowth = process.resourceUsage().maxRSS * 1024 - rssBefore;
        const accepted = [c.expectCode, ...(c.alsoAccept ?? [])];
        if (!isTarpushError(outcome)) {
          disagreements.push(`${c.name}: expected ${c.expectCode}, got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
        } else if (!accepted.includes(outcome.code)) {
          disagreements.push(`${c.name}: expected ${accepted.join('|')}, got ${outcome.code} (${outcome.message})`);
        }
        if (ms > limit) disagreements.push(`${c.name}: took ${ms} ms`);
        if (rssGrowth > RSS_GROWTH_LIMIT) disagreements.push(`${c.name}: peak RSS grew by ${Math.round(rssGrowth / 2 ** 20)} MiB`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(disagreements, [], `cases where the reader disagrees with the corpus:\n${disagreements.join('\n')}`);
  });
});
