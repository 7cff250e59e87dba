import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bcryptHash, bcryptVerify, decodeBcryptSalt, htpasswdLine } from './bcrypt.js';

// Expected values computed with libxcrypt's crypt(3) on the development machine.
const vectors: Array<[string, string]> = [
  ['', '$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq'],
  ['password', '$2b$05$CCCCCCCCCCCCCCCCCCCCC.aDV7CQarKHMuNfh2oJkFzsHZya4whFe'],
  ['U*U', '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['s3cret-admin ü', '$2b$05$0123456789ABCDEFGHIJKueK/ntxB0HgO664tuVhuL.T4.Jfo0wke'],
  ['x'.repeat(71), '$2b$05$abcdefghijklmnopqrstuufmnYtZf4/LVIEdk8v40tikf/KPsqQ4m'],
  ['x'.repeat(72), '$2b$05$abcdefghijklmnopqrstuujf8SX2ahXLwp9w/B.Y5XdysS6yR576q'],
  ['x'.repeat(80), '$2b$05$abcdefghijklmnopqrstuujf8SX2ahXLwp9w/B.Y5XdysS6yR576q'],
  ['pw', '$2y$06$zzzzzzzzzzzzzzzzzzzzzuTSDd..eoPemwC97ONB.zZdYHS/nFht.'],
];

test('bcryptHash reproduces crypt(3) for known salts, costs and variants', () => {
  for (const [password, expected] of vectors) {
    const [, variant, cost, rest] = expected.split('$') as [string, '2b' | '2y', string, string];
    const got = bcryptHash(password, { variant, cost: Number(cost), salt: decodeBcryptSalt(rest.slice(0, 22)) });
    assert.equal(got, expected, `password ${JSON.stringify(password)}`);
  }
});

test('bcryptVerify accepts the right password and rejects others', () => {
  for (const [password, hash] of vectors) {
    assert.equal(bcryptVerify(password, hash), true);
    if (password.length < 72) assert.equal(bcryptVerify(password + '!', hash), false);
  }
  assert.equal(bcryptVerify('x', 'not-a-hash'), false);
});

test('htpasswdLine makes a $2y$05$ line with a random salt', () => {
  const a = htpasswdLine('alice', 'pw');
  const b = htpasswdLine('alice', 'pw');
  assert.match(a, /^alice:\$2y\$05\$[./A-Za-z0-9]{53}$/);
  assert.notEqual(a, b);
  assert.equal(bcryptVerify('pw', a.slice('alice:'.length)), true);
  assert.throws(() => htpasswdLine('a:b', 'pw'));
});
