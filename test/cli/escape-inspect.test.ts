import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { CliIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { reportError } from '../../src/cli/report-error.js';
import { TarpushError } from '../../src/errors.js';
import { isPrintable } from '../../src/util/printable.js';
import { packTar, tempDir, writeTemp } from '../archive/support/build-tar.js';
import { Blobs, kanikoEntries, makeConfig, makeLayer, ociImage, ociLayoutEntries } from '../archive/support/images.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/**
 * Names and strings from an archive reach the terminal escaped: `inspect` prints each
 * image as exactly its lines, its JSON carries no raw control or line separator, and the
 * final error line is one line, whatever the archive put in a RepoTag, a ref name or a
 * platform string.
 */

const HOSTILE = 'evil:1\n\x1b[2J\x1b]0;owned\x07\u2028\u202egnp';
const HOSTILE_REF = 'v1\nFAKE LINE\x1b[2J\u2029';

function io(): CliIO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout, stderr, stdin: Readable.from([]), env: {}, out: () => out, err: () => err };
}

/** Every line (split on the newlines tarpush itself writes) prints as itself. */
function assertNoRawControls(text: string, what: string): void {
  for (const line of text.split('\n')) assert.ok(isPrintable(line), `${what}: raw control in ${JSON.stringify(line)}`);
}

let dir: string;
let cleanup: () => Promise<void>;
let kaniko: string;
let oci: string;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  const layer = await makeLayer({ a: '1' });
  const config = makeConfig([layer.diffId], { os: 'linux\x1b[31m', architecture: 'amd64\nfake: line' });
  kaniko = await writeTemp(dir, 'hostile.tar', await packTar(kanikoEntries([{ tags: [HOSTILE], layers: [layer], config }])));
  const blobs = new Blobs();
  const top = ociImage(blobs, [layer], makeConfig([layer.diffId]), { annotations: { 'org.opencontainers.image.ref.name': HOSTILE_REF } });
  oci = await writeTemp(dir, 'hostile-oci.tar', await packTar(ociLayoutEntries(blobs, [top])));
});
after(() => cleanup());

describe('inspect escapes what the archive says', () => {
  it('human output: a RepoTag and platform strings with newlines and ESC stay on their lines, escaped', async () => {
    const t = io();
    assert.equal(await main(['inspect', kaniko], t), 0, t.err());
    const text = t.out();
    assertNoRawControls(text, 'inspect');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'image 0: evil:1\\n\\x1b[2J\\x1b]0;owned\\x07\\u2028\\u202egnp');
    assert.equal(lines[1], '  platform: linux\\x1b[31m/amd64\\nfake: line');
    assert.equal(lines.length, 6, 'image, platform, manifest, config, layers, one layer');
  });

  it('human output: an OCI ref name annotation is escaped', async () => {
    const t = io();
    assert.equal(await main(['inspect', oci], t), 0, t.err());
    assertNoRawControls(t.out(), 'inspect');
    assert.match(t.out(), /^image 0: \(untagged\) \[ref v1\\nFAKE LINE\\x1b\[2J\\u2029\]$/m);
    assert.doesNotMatch(t.out(), /^FAKE LINE/m);
  });

  it('--json: the same strings, with U+2028/U+2029, C1 and bidi escaped too', async () => {
    for (const file of [kaniko, oci]) {
      const t = io();
      assert.equal(await main(['inspect', file, '--json'], t), 0, t.err());
      assert.equal(t.out().split('\n').length, 2, 'one JSON line');
      assertNoRawControls(t.out(), 'inspect --json');
      const doc = JSON.parse(t.out()) as { images: { repoTags: string[]; refName?: string; platform: { os: string } }[] };
      if (file === kaniko) {
        assert.deepEqual(doc.images[0]!.repoTags, [HOSTILE], 'JSON keeps the exact value');
        assert.equal(doc.images[0]!.platform.os, 'linux\x1b[31m');
      } else {
        assert.equal(doc.images[0]!.refName, HOSTILE_REF);
      }
    }
  });

  it('the error line naming hostile names is exactly one line (real CLI)', async () => {
    const r = await tarpushCli(['inspect', kaniko, '--image', 'nope\n\x1b[2Jx']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^tarpush: IMAGE_NOT_FOUND: /);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
    assertNoRawControls(r.stderr, 'stderr');
  });
});

describe('reportError: one line whatever the message', () => {
  it('escapes a TarpushError message and keeps "tarpush: CODE: message"', () => {
    const t = io();
    assert.equal(reportError(new TarpushError('MANIFEST_INVALID', 'bad name "a\nb\x1b[2J\u2028c"'), t), 2);
    assert.equal(t.err(), 'tarpush: MANIFEST_INVALID: bad name "a\\nb\\x1b[2J\\u2028c"\n');
  });

  it('escapes the message of an unexpected error too', () => {
    const t = io();
    reportError(new Error('boom\nsecond line\x1b[H'), t);
    assert.equal(t.err(), 'tarpush: boom\\nsecond line\\x1b[H\n');
    const t2 = io();
    reportError('thrown\rstring', t2);
    assert.equal(t2.err(), 'tarpush: thrown\\rstring\n');
  });

  it('a programming error (RangeError: library misuse) exits 70 as an internal error, not 1 as if the registry failed', () => {
    const t = io();
    assert.equal(reportError(new RangeError('concurrency must be a positive integer, got 0'), t), 70);
    assert.equal(t.err(), 'tarpush: internal error: concurrency must be a positive integer, got 0\n');
    const debug = io();
    debug.env = { TARPUSH_DEBUG: '1' };
    assert.equal(reportError(new TypeError('x is not a function'), debug), 70);
    assert.match(debug.err(), /^tarpush: internal error: x is not a function\nTypeError: x is not a function\n {4}at /);
    assert.equal(reportError(new Error('ECONNRESET'), io()), 1, 'other untyped failures keep exit 1');
  });
});
