/**
 * Issue 8's bar: every archive under ../shared/real-archives and every fixture that holds
 * something publishable pushes with --all to the real registry, and every pushed reference is
 * read back by `skopeo copy --all` (which checks every digest); an archive with nothing to
 * publish exits 2 with one line saying why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type RegistryHandle } from '../support/registry.js';
import { run } from '../support/exec.js';
import { tarpushCli } from '../support/tarpush-cli.js';
import { repoRoot, tempDir } from './support.js';

const shared = join(repoRoot, '..', 'shared', 'real-archives');
/** Archives that hold nothing publishable, and the line that must say why. */
const REFUSED: Record<string, RegExp> = {
  'v1_tarball_no_manifest.tar': /^tarpush: ARCHIVE_FORMAT_UNKNOWN: .*no manifest\.json/,
  'v1_tarball_null_manifest.tar': /^tarpush: MANIFEST_INVALID: .*manifest\.json/,
  'v1_tarball_sparse_foreign.tar': /^tarpush: \w+: /,
  'windows-foreign-sparse.tar': /^tarpush: \w+: /,
  'windows-foreign.tar': /^tarpush: \w+: .*foreign layer/,
  'v1_tarball_foreign.tar': /^tarpush: \w+: .*foreign layer/,
};

function archivesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return existsSync(join(p, 'index.json')) ? [p] : archivesUnder(p);
    return /\.(tar|tar\.gz|tar\.xz|tar\.zst|tar\.bz2)$/.test(n) ? [p] : [];
  });
}

const all = [...archivesUnder(shared), ...archivesUnder(join(repoRoot, 'fixtures'))];

describe('push --all of every real archive and fixture, read back by skopeo copy --all', { skip: all.length === 0 ? 'no archives' : false }, () => {
  let reg: RegistryHandle;
  before(async () => {
    reg = await startRegistry({ mode: 'anonymous' });
  });
  after(async () => reg?.stop());

  for (const [i, path] of all.entries()) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    it(name, async (t) => {
      const dir = await tempDir(t);
      const repo = `every/a${i}`;
      const r = await tarpushCli(['push', path, `${reg.host}/${repo}`, '--all', '--json', '--retries', '0'], { env: { TARPUSH_CACHE_DIR: join(dir, 'cache') } });
      const refused = REFUSED[name];
      if (refused) {
        assert.notEqual(r.code, 0, `${name} should be refused`);
        assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('tarpush: ')).length, 1, r.stderr);
        assert.match(r.stderr.trim().split('\n').at(-1)!, refused);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { images?: Array<{ destinations: Array<{ reference: string }> }>; destinations?: Array<{ reference: string }> };
      const refs = (json.images ?? [json as { destinations: Array<{ reference: string }> }]).flatMap((im) => im.destinations.map((d) => d.reference));
      assert.ok(refs.length > 0);
      for (const [k, ref] of refs.entries()) {
        await run('skopeo', ['copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${join(dir, `copy${k}`)}`]);
      }
    });
  }
});
