import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { isPrintable } from '../../src/util/printable.js';
import { emptyHome } from '../remote/support.js';
import { startHostileRegistry, type HostileRegistry } from '../support/hostile-names.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/**
 * Names a registry sends (tags, repositories, error messages) reach the terminal escaped:
 * one name per line, no control sequence, and the error line stays one line.
 */

const NAMES = ['v1', 'v2\nFAKE-TAG', 'clear\x1b[2J', 'title\x1b]0;owned\x07', 'ls\u2028ps\u2029', 'rlo\u202egnp', 'csi\x9b2J'];
const ERROR = 'nope\nFAKE LINE\x1b[2J';

let reg: HostileRegistry;
let home: { dir: string; remove(): Promise<void> };
before(async () => {
  reg = await startHostileRegistry(NAMES, ERROR);
  home = await emptyHome();
});
after(async () => {
  await reg.stop();
  await home.remove();
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  err.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await main(args, { stdout: out, stderr: err, stdin: Readable.from(['']), env: { HOME: home.dir } });
  return { code, stdout, stderr };
}

const escaped = ['v1', 'v2\\nFAKE-TAG', 'clear\\x1b[2J', 'title\\x1b]0;owned\\x07', 'ls\\u2028ps\\u2029', 'rlo\\u202egnp', 'csi\\x9b2J'];

function assertNoRawControls(text: string): void {
  for (const line of text.split('\n')) assert.ok(isPrintable(line), `raw control in ${JSON.stringify(line)}`);
}

describe('listing verbs escape what the registry sends', () => {
  it('tags: one escaped name per line (real CLI)', async () => {
    const r = await tarpushCli(['tags', `${reg.host}/app`], { env: { HOME: home.dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), [...escaped, '']);
    assertNoRawControls(r.stdout);
  });

  it('tags --json: the exact names back from JSON.parse, nothing raw on the line', async () => {
    const r = await cli(['tags', `${reg.host}/app`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assertNoRawControls(r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), { name: `${reg.host}/app`, tags: NAMES });
  });

  it('catalog: one escaped repository per line; --json exact', async () => {
    const r = await cli(['catalog', reg.host]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), [...escaped, '']);
    const json = await cli(['catalog', reg.host, '--json']);
    assertNoRawControls(json.stdout);
    assert.deepEqual(JSON.parse(json.stdout).repositories, NAMES);
  });

  it("a registry error message with a newline and ESC is one escaped error line (real CLI)", async () => {
    const r = await tarpushCli(['digest', `${reg.host}/app:v1`], { env: { HOME: home.dir } });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    // The registry's text is folded to one line (snippet) or escaped: either way no raw control.
    assert.match(r.stderr, /^tarpush: REGISTRY_ERROR: .*nope(\\n| )FAKE LINE\\x1b\[2J/);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
    assertNoRawControls(r.stderr);
  });
});
