import { TarpushError } from '../../errors.js';
import type { Credential } from './types.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Turn one `auths` entry into a credential. Fields, as docker writes them: `auth` =
 * base64("user:password") (the password may itself hold ":"), or `username`/`password`;
 * `identitytoken` (a refresh token, with the user name if any); `registrytoken` (a bearer
 * token). An entry with none of them (`{}`, the marker docker leaves when a credsStore
 * holds the secret) gives `undefined`. Errors name the file and key, never a value.
 */
export function credentialFromEntry(entry: unknown, key: string, file: string): Credential | undefined {
  const where = `credentials file ${file}: entry ${JSON.stringify(key)}`;
  const invalid = (what: string) => new TarpushError('CREDENTIALS_INVALID', `${where} ${what}`, { file });
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid('is not an object');
  const e = entry as Record<string, unknown>;
  const field = (name: string): string | undefined => {
    const v = e[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw invalid(`has a non-string "${name}"`);
    return v;
  };

  let username = field('username');
  let password = field('password');
  const auth = field('auth');
  if (auth !== undefined) {
    const compact = auth.replace(/\s+/g, '');
    const decoded = BASE64.test(compact) && compact.length % 4 !== 1 ? Buffer.from(compact, 'base64').toString('utf8') : undefined;
    const colon = decoded?.indexOf(':') ?? -1;
    if (decoded === undefined || colon < 0) throw invalid('has an "auth" that is not base64 of "user:password"');
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }

  const identityToken = field('identitytoken');
  if (identityToken !== undefined) {
    return username ? { kind: 'refresh-token', username, token: identityToken, source: file } : { kind: 'refresh-token', token: identityToken, source: file };
  }
  const registryToken = field('registrytoken');
  if (registryToken !== undefined) return { kind: 'bearer', token: registryToken, source: file };

  if (!username) {
    if (password !== undefined && password !== '') throw invalid('has a password but no user name');
    return undefined;
  }
  if (password === undefined) throw invalid('has a user name but the password is missing');
  return { kind: 'basic', username, password, source: file };
}
