/**
 * A Docker-style token server for the token-auth registry: GET /token (Basic credentials or
 * anonymous) and the OAuth2 POST form (grant_type=password | refresh_token), granting the
 * intersection of the scopes asked for and the user's allowance, as ES256 JWTs that
 * distribution 2.8.2 accepts (kid = libtrust key id of the signing key, signature r‖s, aud a
 * string). The signing key's self-signed certificate is the registry's `rootcertbundle`.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';
import { listenOnFreePort } from './free-port.js';

/** What a user may be granted: `name` is a repository name or a glob with `*`. */
export interface Allowance {
  type: string; // 'repository' | 'registry'
  name: string; // 'team/app', 'team/*', '*', 'catalog'
  actions: string[]; // 'pull', 'push', 'delete', '*'
}

export interface TokenAccount {
  username: string;
  password: string;
  allow: Allowance[];
}

export interface TokenServerOptions {
  /** Directory for the signing key and its certificate (must exist). */
  dir: string;
  service: string;
  issuer: string;
  accounts: TokenAccount[];
  /** What a request without credentials gets (default: nothing, i.e. a token with no access). */
  anonymous?: Allowance[];
  /** Token lifetime in seconds (default 300). */
  lifetimeSeconds?: number;
}

/** One request the token server answered (never the password or any token). */
export interface TokenRequestRecord {
  method: 'GET' | 'POST';
  /** 'basic' for GET with credentials, 'anonymous', or the OAuth2 grant_type. */
  via: 'basic' | 'anonymous' | 'password' | 'refresh_token' | string;
  account: string | undefined;
  scopes: string[];
  status: number;
}

export interface TokenServerHandle {
  url: string;
  /** Full realm URL, `${url}/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate of the signing key (the registry's `auth.token.rootcertbundle`). */
  certFile: string;
  /** Access tokens issued so far. */
  readonly issued: number;
  requests: TokenRequestRecord[];
  /** Lifetime of tokens issued from now on: their expires_in, and when the registry starts refusing them. */
  setTokenLifetime(seconds: number): void;
  /** false → POST /token answers 404, so clients must fall back to GET. */
  setOAuthPostEnabled(enabled: boolean): void;
  stop(): Promise<void>;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * distribution 2.8.2 keeps accepting a token for 60 s after its `exp` (measured here). The
 * server writes `exp` that much earlier, so a token with lifetime N is refused N seconds after
 * it was issued, which is what `expires_in: N` tells the client and what expiry tests need.
 */
export const REGISTRY_EXP_LEEWAY_SECONDS = 60;

/** libtrust's key id: base32 of the first 240 bits of SHA-256(SPKI DER), in 4-char groups. */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const bytes = createHash('sha256').update(der).digest().subarray(0, 30);
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let text = '';
  for (let i = 0; i < bits.length; i += 5) text += BASE32[parseInt(bits.slice(i, i + 5), 2)];
  return text.match(/.{4}/g)!.join(':');
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** `type:name:actions`, where name may itself contain ':' (a registry host with a port). */
export function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(',').filter((a) => a !== ''),
  };
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** The access entries to grant: for each asked scope, asked ∩ allowed actions (empty ones dropped). */
export function grantAccess(
  asked: string[],
  allowances: Allowance[],
): Array<{ type: string; name: string; actions: string[] }> {
  const granted: Array<{ type: string; name: string; actions: string[] }> = [];
  for (const scope of asked) {
    const parsed = parseScope(scope);
    if (!parsed) continue;
    const allowed = new Set<string>();
    for (const a of allowances) {
      if (a.type === parsed.type && globMatches(a.name, parsed.name)) for (const act of a.actions) allowed.add(act);
    }
    const actions = parsed.actions.filter((act) => allowed.has(act));
    if (actions.length === 0) continue;
    const existing = granted.find((g) => g.type === parsed.type && g.name === parsed.name);
    if (existing) existing.actions = [...new Set([...existing.actions, ...actions])];
    else granted.push({ type: parsed.type, name: parsed.name, actions: [...new Set(actions)] });
  }
  return granted;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Splits scope parameters: repeated `scope=` and/or space-separated scopes in one value. */
function splitScopes(values: string[]): string[] {
  return values.flatMap((v) => v.split(' ')).filter((s) => s !== '');
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServerHandle> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(opts.dir, 'token-signing.key');
  const certFile = path.join(opts.dir, 'token-signing.crt');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await run('openssl', [
    'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '3',
    '-subj', '/CN=tarpush test token signer', '-out', certFile,
  ]);
  const kid = libtrustKeyId(publicKey);

  let lifetime = opts.lifetimeSeconds ?? 300;
  let oauthPost = true;
  let issued = 0;
  const refreshTokens = new Map<string, string>(); // refresh token → account name
  const requests: TokenRequestRecord[] = [];

  const issue = (account: string | undefined, access: ReturnType<typeof grantAccess>) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', kid };
    const claims = {
      iss: opts.issuer,
      sub: account ?? '',
      aud: opts.service,
      exp: now + lifetime - REGISTRY_EXP_LEEWAY_SECONDS,
      nbf: now,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    issued++;
    return {
      token: `${signingInput}.${base64url(signature)}`,
      expiresIn: lifetime,
      issuedAt: new Date(now * 1000).toISOString(),
    };
  };

  const checkPassword = (username: string, password: string): TokenAccount | undefined =>
    opts.accounts.find((a) => a.username === username && a.password === password);

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handleGet = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const scopes = splitScopes(url.searchParams.getAll('scope'));
    const record: TokenRequestRecord = { method: 'GET', via: 'anonymous', account: undefined, scopes, status: 0 };
    requests.push(record);
    const fail = (status: number, body: unknown, headers?: Record<string, string>) => {
      record.status = status;
      send(res, status, body, headers);
    };
    const service = url.searchParams.get('service');
    if (service !== null && service !== opts.service) {
      fail(400, { errors: [{ code: 'DENIED', message: `unknown service ${service}` }] });
      return;
    }
    let account: TokenAccount | undefined;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Basic\s+(\S+)$/i.exec(authorization);
      const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      record.via = 'basic';
      record.account = colon > 0 ? decoded.slice(0, colon) : undefined;
      account = colon > 0 ? checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1)) : undefined;
      if (!account) {
        fail(401, { details: 'incorrect username or password' }, { 'www-authenticate': 'Basic realm="tarpush-test-token"' });
        return;
      }
    }
    const access = grantAccess(scopes, account ? account.allow : opts.anonymous ?? []);
    const t = issue(account?.username, access);
    const body: Record<string, unknown> = {
      token: t.token,
      access_token: t.token,
      expires_in: t.expiresIn,
      issued_at: t.issuedAt,
    };
    if (account && url.searchParams.get('offline_token') === 'true') {
      const refresh = randomBytes(24).toString('base64url');
      refreshTokens.set(refresh, account.username);
      body.refresh_token = refresh;
    }
    record.status = 200;
    send(res, 200, body);
  };

  const handlePost = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    const grantType = form.get('grant_type') ?? '';
    const scopes = splitScopes(form.getAll('scope'));
    const record: TokenRequestRecord = { method: 'POST', via: grantType, account: undefined, scopes, status: 0 };
    requests.push(record);
    const fail = (status: number, error: string, description: string) => {
      record.status = status;
      send(res, status, { error, error_description: description });
    };
    if (!form.get('client_id')) return fail(400, 'invalid_request', 'client_id is required');
    const service = form.get('service');
    if (service !== null && service !== opts.service) return fail(400, 'invalid_request', `unknown service ${service}`);
    let account: TokenAccount | undefined;
    let refresh: string | undefined;
    if (grantType === 'password') {
      record.account = form.get('username') ?? undefined;
      account = checkPassword(form.get('username') ?? '', form.get('password') ?? '');
      if (!account) return fail(401, 'invalid_grant', 'incorrect username or password');
    } else if (grantType === 'refresh_token') {
      refresh = form.get('refresh_token') ?? '';
      const name = refreshTokens.get(refresh);
      account = opts.accounts.find((a) => a.username === name);
      record.account = account?.username;
      if (!account) return fail(401, 'invalid_grant', 'unknown refresh token');
    } else {
      return fail(400, 'unsupported_grant_type', `grant_type ${grantType || '(none)'} is not supported`);
    }
    const access = grantAccess(scopes, account.allow);
    const t = issue(account.username, access);
    // OAuth2 form answers carry access_token only (no `token`), as Docker's auth server does.
    const body: Record<string, unknown> = {
      access_token: t.token,
      scope: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' '),
      expires_in: t.expiresIn,
      issued_at: t.issuedAt,
    };
    if (form.get('access_type') === 'offline') {
      if (!refresh) {
        refresh = randomBytes(24).toString('base64url');
        refreshTokens.set(refresh, account.username);
      }
      body.refresh_token = refresh;
    }
    record.status = 200;
    send(res, 200, body);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') {
      send(res, 404, { error: 'not found' });
      return;
    }
    if (req.method === 'GET') {
      handleGet(req, res, url);
    } else if (req.method === 'POST' && oauthPost) {
      handlePost(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(err) });
        else res.destroy();
      });
    } else {
      req.resume();
      send(res, 404, { error: 'not found' });
    }
  });
  const port = await listenOnFreePort(server);
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    realm: `${url}/token`,
    service: opts.service,
    issuer: opts.issuer,
    certFile,
    get issued() {
      return issued;
    },
    requests,
    setTokenLifetime(seconds: number) {
      lifetime = seconds;
    },
    setOAuthPostEnabled(enabled: boolean) {
      oauthPost = enabled;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
