import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTarpushError } from '../../src/errors.js';
import { resolveLocation, withQuery } from '../../src/registry/location.js';

describe('resolveLocation', () => {
  const req = new URL('https://reg.example:5000/v2/team/app/blobs/uploads/?mount=x');
  it('keeps absolute locations, also on other hosts', () => {
    assert.equal(resolveLocation(req, 'https://blobs.example/up/1?sig=a', 'x').href, 'https://blobs.example/up/1?sig=a');
  });
  it('resolves host-relative and path-relative locations against the request URL', () => {
    assert.equal(resolveLocation(req, '/v2/team/app/blobs/uploads/u1?_state=abc%3D%3D', 'x').href, 'https://reg.example:5000/v2/team/app/blobs/uploads/u1?_state=abc%3D%3D');
    assert.equal(resolveLocation(req, 'u2', 'x').href, 'https://reg.example:5000/v2/team/app/blobs/uploads/u2');
  });
  it('refuses a missing Location with a typed error naming the URL without its query', () => {
    assert.throws(
      () => resolveLocation(req, undefined, 'blob upload'),
      (e: unknown) => isTarpushError(e, 'REGISTRY_ERROR') && e.message.includes('https://reg.example:5000/v2/team/app/blobs/uploads/') && !e.message.includes('mount='),
    );
  });
});

describe('withQuery', () => {
  it('appends with ? when there is no query and with & when there is', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    assert.equal(withQuery(new URL('https://r.example/v2/a/blobs/uploads/u'), { digest: d }).href, `https://r.example/v2/a/blobs/uploads/u?digest=sha256%3A${'a'.repeat(64)}`);
    assert.equal(
      withQuery(new URL('https://r.example/v2/a/blobs/uploads/u?_state=x%2By%3D%3D&b=1'), { digest: d }).search,
      `?_state=x%2By%3D%3D&b=1&digest=sha256%3A${'a'.repeat(64)}`,
    );
  });
  it('keeps existing parameters byte for byte and skips undefined ones', () => {
    const u = new URL('https://r.example/x?sig=a+b%2Fc&empty=');
    assert.equal(withQuery(u, { n: undefined }).href, u.href);
    assert.equal(withQuery(u, { n: '2' }).search, '?sig=a+b%2Fc&empty=&n=2');
  });
});
