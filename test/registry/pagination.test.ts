import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextLink } from '../../src/registry/pagination.js';

describe('nextLink', () => {
  const req = new URL('http://127.0.0.1:5000/v2/_catalog?n=1');
  it('resolves the relative Link distribution sends', () => {
    assert.equal(nextLink('</v2/_catalog?last=a&n=1>; rel="next"', req)?.href, 'http://127.0.0.1:5000/v2/_catalog?last=a&n=1');
  });
  it('finds rel=next among several links, quoted or not, and absolute targets', () => {
    const link = '<https://r.example/v2/x/tags/list?n=2&last=b>; rel=next, </first>; rel="first"';
    assert.equal(nextLink(link, req)?.href, 'https://r.example/v2/x/tags/list?n=2&last=b');
    assert.equal(nextLink(['</p1>; rel="prev"', '</p3>; title="x, y"; rel="next"'], req)?.pathname, '/p3');
  });
  it('returns undefined without a next link', () => {
    assert.equal(nextLink(undefined, req), undefined);
    assert.equal(nextLink('</first>; rel="first"', req), undefined);
  });
});
