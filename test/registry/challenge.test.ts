import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { challengeScopes, parseChallenges, pickChallenge } from '../../src/registry/challenge.js';

describe('parseChallenges', () => {
  it('parses a Bearer challenge with quoted values containing commas', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"',
    );
    assert.equal(c?.scheme, 'bearer');
    assert.deepEqual(c?.params, {
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/alpine:pull,push',
    });
  });

  it('splits several challenges in one header value', () => {
    const cs = parseChallenges('Basic realm="Registry Realm", Bearer realm="https://a.example/token",service="svc",error="insufficient_scope"');
    assert.deepEqual(
      cs.map((c) => c.scheme),
      ['basic', 'bearer'],
    );
    assert.equal(cs[0]?.params.realm, 'Registry Realm');
    assert.equal(cs[1]?.params.error, 'insufficient_scope');
    assert.equal(pickChallenge(cs)?.scheme, 'bearer');
  });

  it('accepts several header values, spaces around "=", escaped quotes and case-insensitive names', () => {
    const cs = parseChallenges(['BASIC Realm = "a \\"quoted\\" realm"', 'bearer REALM=https://x.example/t , Service=svc']);
    assert.equal(cs[0]?.scheme, 'basic');
    assert.equal(cs[0]?.params.realm, 'a "quoted" realm');
    assert.equal(cs[1]?.params.realm, 'https://x.example/t');
    assert.equal(cs[1]?.params.service, 'svc');
  });

  it('reads token68 forms and bare schemes', () => {
    const cs = parseChallenges('Negotiate abc+/def==, Basic');
    assert.equal(cs[0]?.scheme, 'negotiate');
    assert.equal(cs[0]?.token68, 'abc+/def==');
    assert.equal(cs[1]?.scheme, 'basic');
    assert.deepEqual(cs[1]?.params, {});
  });

  it('returns space-separated scopes as a list', () => {
    const [c] = parseChallenges('Bearer realm="r",scope="repository:a:pull repository:b:pull,push"');
    assert.deepEqual(challengeScopes(c), ['repository:a:pull', 'repository:b:pull,push']);
    assert.deepEqual(challengeScopes(undefined), []);
  });

  it('survives garbage and empty input', () => {
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(''), []);
    const cs = parseChallenges('Bearer realm="unterminated');
    assert.equal(cs[0]?.params.realm, 'unterminated');
    assert.equal(parseChallenges(',,, =,')[0], undefined);
  });
});
