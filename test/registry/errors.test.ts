import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { isCertificateError, isTransientNetworkError, networkError, parseErrorBody, redactSecrets, safeUrl, statusError } from '../../src/registry/errors.js';

const url = 'https://user:pw@reg.example/v2/a/blobs/uploads/u?_state=SECRETSTATE&digest=sha256:1';

describe('registry errors', () => {
  it('parses the distribution error body and ignores anything else', () => {
    assert.deepEqual(parseErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'), [
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } },
    ]);
    assert.deepEqual(parseErrorBody('<html>bad gateway</html>'), []);
    assert.deepEqual(parseErrorBody('{"errors":"nope"}'), []);
  });

  it('never shows user info or the query of a URL', () => {
    assert.equal(safeUrl(url), 'https://reg.example/v2/a/blobs/uploads/u');
  });

  it('maps statuses to codes and exit codes', () => {
    const cases: Array<[number, string | undefined, string, number]> = [
      [404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', 'NOT_FOUND', ExitCode.registry],
      [403, undefined, 'AUTH_DENIED', ExitCode.auth],
      [405, '{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}', 'UNSUPPORTED', ExitCode.registry],
      [500, 'oops', 'REGISTRY_ERROR', ExitCode.registry],
      [429, 'Too Many Requests', 'REGISTRY_ERROR', ExitCode.registry],
    ];
    for (const [status, body, code, exit] of cases) {
      const e = statusError({ what: 'manifest a:b', method: 'GET', url, status, body });
      assert.equal(e.code, code, `status ${status}`);
      assert.equal(e.exitCode, exit);
      assert.equal(e.details.status, status);
      assert.equal(e.details.method, 'GET');
      assert.equal(e.details.url, 'https://reg.example/v2/a/blobs/uploads/u');
      assert.ok(!e.message.includes('SECRETSTATE'));
    }
    const nf = statusError({ what: 'manifest a:b', method: 'GET', url, status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}' });
    assert.equal(nf.details.registryCode, 'MANIFEST_UNKNOWN');
    assert.match(nf.message, /manifest a:b: GET https:\/\/reg\.example\/v2\/a\/blobs\/uploads\/u answered 404 MANIFEST_UNKNOWN \(manifest unknown\)/);
  });

  it('words 401s by what was sent', () => {
    assert.equal(statusError({ what: 'x', method: 'GET', url, status: 401 }).code, 'AUTH_REQUIRED');
    assert.equal(statusError({ what: 'x', method: 'GET', url, status: 401, auth: { sent: 'basic', withCredential: true } }).code, 'CREDENTIALS_INVALID');
    const denied = statusError({
      what: 'x',
      method: 'POST',
      url,
      status: 401,
      authError: 'insufficient_scope',
      auth: { sent: 'bearer', withCredential: true, scopes: ['repository:a:pull,push'] },
    });
    assert.equal(denied.code, 'AUTH_DENIED');
    assert.equal(denied.exitCode, ExitCode.auth);
    assert.match(denied.message, /repository:a:pull,push/);
    assert.equal(statusError({ what: 'x', method: 'GET', url, status: 401, auth: { sent: 'bearer', withCredential: false } }).code, 'AUTH_REQUIRED');
  });

  it('redacts credentials a server echoes back', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const text = `bad header Authorization: Bearer ${jwt} and Basic dXNlcjpwYXNz, token=abc123&x=1 password=hunter2`;
    const out = redactSecrets(text);
    for (const secret of [jwt, 'dXNlcjpwYXNz', 'abc123', 'hunter2']) assert.ok(!out.includes(secret), `${secret} left in ${out}`);
    const e = statusError({ what: 'x', method: 'GET', url, status: 400, body: `{"errors":[{"code":"DENIED","message":"token ${jwt} refused"}]}` });
    assert.ok(!e.message.includes(jwt));
  });

  it('classifies network failures', () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    assert.ok(isTransientNetworkError(reset));
    assert.ok(!isTransientNetworkError(new Error('plain')));
    const cert = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    assert.ok(isCertificateError(cert));
    assert.ok(!isCertificateError(Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' })));
    const e = networkError(cert, 'GET', url, 'registry ping');
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.match(e.message, /--ca-file/);
    const t = networkError(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'GET', url, 'x');
    assert.equal(t.code, 'TIMEOUT');
    assert.ok(!t.message.includes('SECRETSTATE'));
  });
});
