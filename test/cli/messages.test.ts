import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixture } from '../publish/support.js';
import { localNonLoopbackName } from '../registry/helpers.js';
import { freePort } from '../support/free-port.js';
import { tarpushCli } from '../support/tarpush-cli.js';

/** What a newcomer (or a skopeo, crane, docker user) types wrong, and the one line that answers. */

const oneLine = (s: string): void => assert.equal(s.split('\n').length, 2, `one line: ${JSON.stringify(s)}`);

test('a misspelled verb: one line with the verb meant, exit 2', async () => {
  const r = await tarpushCli(['psuh', 'x.tar']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'tarpush: USAGE: unknown command "psuh" — did you mean push?\n');
  const far = await tarpushCli(['frobnicate']);
  assert.equal(far.code, 2);
  assert.equal(far.stderr, 'tarpush: USAGE: unknown command "frobnicate"; see tarpush --help\n');
  const tgas = await tarpushCli(['tgas', 'r/x']);
  assert.match(tgas.stderr, /did you mean tags\?\n$/);
});

test('yargs errors are one USAGE line: bad choice, unknown flag, missing argument', async () => {
  const choice = await tarpushCli(['push', fixture('kaniko.tar'), 'oci:/nonexistent/x', '--format', 'foo']);
  assert.equal(choice.code, 2);
  assert.equal(choice.stderr, 'tarpush: USAGE: --format "foo": expected one of keep, docker, oci\n');
  const flag = await tarpushCli(['digest', 'reg.example/a:1', '--frob']);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr, 'tarpush: USAGE: unknown flag --frob; see tarpush digest --help\n');
  const missing = await tarpushCli(['tags']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'tarpush: USAGE: missing argument (got 0, need at least 1): usage: tarpush tags <repository> [options]\n');
});

test('arguments a verb does not take are a usage error, not dropped', async () => {
  for (const [argv, extra] of [
    // Port 9 of loopback: were the extras dropped, the verb would try (and fail at) the first one.
    [['digest', '127.0.0.1:9/a:1', '127.0.0.1:9/b:2'], '"127.0.0.1:9/b:2"'],
    [['inspect', fixture('kaniko.tar'), 'extra'], '"extra"'],
    [['manifest', '127.0.0.1:9/a:1', 'b', 'c'], '"b" "c"'],
    [['tags', '127.0.0.1:9/a', 'extra'], '"extra"'],
  ] as const) {
    const r = await tarpushCli([...argv]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '', 'nothing done');
    assert.equal(r.stderr, `tarpush: USAGE: too many arguments: ${extra}; see tarpush ${argv[0]} --help\n`);
  }
});

test("other tools' flags point to ours", async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--dest-creds', 'u:p'], /unknown flag --dest-creds: tarpush takes --username USER with --password-stdin or TARPUSH_PASSWORD, or --authfile/],
    [['--src-creds', 'u:p'], /unknown flag --src-creds: tarpush takes --username/],
    [['--creds', 'u:p'], /unknown flag --creds: tarpush takes --username/],
    [['--tls-verify=false'], /unknown flag --tls-verify: tarpush takes --insecure \(no certificate check\), --plain-http \(no TLS\) or --ca-file FILE/],
    [['--dest-tls-verify=false'], /unknown flag --dest-tls-verify: tarpush takes --insecure/],
    [['-p', 'secret'], /unknown flag -p: the password comes from --password-stdin or TARPUSH_PASSWORD, never the command line/],
    [['--password', 'secret'], /unknown flag --password: the password comes from --password-stdin/],
    [['--insecure-policy'], /unknown flag --insecure-policy: tarpush checks no signature policy: drop the flag/],
  ];
  for (const [flags, re] of cases) {
    const r = await tarpushCli(['push', fixture('kaniko.tar'), 'oci:/nonexistent/x', ...flags]);
    assert.equal(r.code, 2, flags.join(' '));
    oneLine(r.stderr);
    assert.match(r.stderr, re);
    assert.ok(!r.stderr.includes('secret') && !r.stderr.includes('u:p'), 'the value typed is not repeated');
    assert.ok(!/destCreds|srcCreds|tlsVerify/.test(r.stderr), 'no camel-case twin');
  }
});

test('swapped push arguments and docker-style tag arguments get "did you mean"', async () => {
  const swapped = await tarpushCli(['push', 'reg.example/app:1', fixture('kaniko.tar')]);
  assert.equal(swapped.code, 2);
  oneLine(swapped.stderr);
  assert.match(swapped.stderr, /^tarpush: USAGE: reg\.example\/app:1 is not a file and .*kaniko\.tar looks like an archive: the source comes first; did you mean tarpush push .*kaniko\.tar reg\.example\/app:1\?\n$/);
  const tag = await tarpushCli(['tag', 'reg.example/app:1', 'reg.example/app:2']);
  assert.equal(tag.code, 2);
  assert.equal(tag.stderr, 'tarpush: USAGE: tag reg.example/app:2: tags are bare words here; did you mean tarpush tag reg.example/app:1 2?\n');
  const other = await tarpushCli(['tag', 'reg.example/app:1', 'reg.example/other:2']);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /tarpush tag adds tags in the same repository .*use tarpush copy reg\.example\/app:1 reg\.example\/other:2\n$/);
});

test('docker:// is the same reference; http:// and https:// are refused with the reference to write', async () => {
  const port = await freePort();
  const docker = await tarpushCli(['digest', `docker://127.0.0.1:${port}/x:1`, '--retries', '0']);
  assert.equal(docker.code, 1);
  assert.match(docker.stderr, new RegExp(`^tarpush: NETWORK_ERROR: registry ping 127\\.0\\.0\\.1:${port} `));
  const plain = await tarpushCli(['push', fixture('kaniko.tar'), `http://127.0.0.1:${port}/x:1`]);
  assert.equal(plain.code, 2);
  assert.equal(plain.stderr, `tarpush: REFERENCE_INVALID: invalid image reference "http://127.0.0.1:${port}/x:1": a reference has no URL scheme: write "127.0.0.1:${port}/x:1" (for a registry that speaks plain HTTP add --plain-http)\n`);
  const tls = await tarpushCli(['digest', `https://127.0.0.1:${port}/x:1`]);
  assert.equal(tls.code, 2);
  assert.match(tls.stderr, /a reference has no URL scheme: write "127\.0\.0\.1:\d+\/x:1"\n$/);
});

test('connection refused is one line, said once for https and http', async () => {
  const port = await freePort();
  const r = await tarpushCli(['digest', `127.0.0.1:${port}/x:1`, '--retries', '0']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `tarpush: NETWORK_ERROR: registry ping 127.0.0.1:${port} (https and http): GET http://127.0.0.1:${port}/v2/: connection refused (nothing listens on that port?)\n`);
});

test('a plain-HTTP registry on a non-loopback name: "speaks plain HTTP; use --plain-http", also with --insecure', async (t) => {
  const name = await localNonLoopbackName();
  if (!name) return t.skip('no local host name that resolves to 127.x');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const host = `${name}:${(server.address() as AddressInfo).port}`;
  for (const extra of [[], ['--insecure']]) {
    const r = await tarpushCli(['digest', `${host}/x:1`, '--retries', '0', ...extra]);
    assert.equal(r.code, 1, extra.join(' '));
    assert.equal(r.stderr, `tarpush: NETWORK_ERROR: registry ping: ${host} speaks plain HTTP, not HTTPS (GET https://${host}/v2/); use --plain-http\n`);
  }
});
