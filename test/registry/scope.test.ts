import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogScope, deleteScope, normaliseScopes, parseScope, pullScope, pushScope, scopesCover } from '../../src/registry/scope.js';

describe('scopes', () => {
  it('writes the scopes the token spec expects', () => {
    assert.equal(pullScope('team/app'), 'repository:team/app:pull');
    assert.equal(pushScope('team/app'), 'repository:team/app:pull,push');
    assert.equal(deleteScope('team/app'), 'repository:team/app:delete');
    assert.equal(catalogScope, 'registry:catalog:*');
  });
  it('parses names that hold ":" (host with port)', () => {
    assert.deepEqual(parseScope('repository:localhost:5000/a:pull,push'), { type: 'repository', name: 'localhost:5000/a', actions: ['pull', 'push'] });
    assert.equal(parseScope('nonsense'), undefined);
  });
  it('merges actions per resource into a stable order', () => {
    assert.deepEqual(normaliseScopes(['repository:b:push', 'repository:a:pull', 'repository:b:pull', 'repository:a:pull']), [
      'repository:a:pull',
      'repository:b:pull,push',
    ]);
  });
  it('decides whether a token asked for some scopes covers others', () => {
    assert.ok(scopesCover(['repository:a:pull,push'], ['repository:a:pull']));
    assert.ok(!scopesCover(['repository:a:pull'], ['repository:a:pull,push']));
    assert.ok(!scopesCover(['repository:a:pull,push'], ['repository:b:pull']));
    assert.ok(scopesCover(['registry:catalog:*'], ['registry:catalog:*']));
    assert.ok(scopesCover(['repository:a:*'], ['repository:a:delete']));
    assert.ok(scopesCover(['repository:a:pull'], []));
  });
});
