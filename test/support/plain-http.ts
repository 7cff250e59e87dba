/**
 * Minimal HTTP helpers for harness self-tests and for tests that must check the registry
 * *without* going through tarpush's own client: undici fetch trusting the test CA, Basic
 * headers, and a token fetched from the token server the way the spec describes.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import type { RegistryHandle, TestUser } from './registry.js';

export type PlainFetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: Buffer | string; redirect?: 'follow' | 'manual' }) => Promise<Response>;

/** fetch that trusts `caFile` (if any); redirects are not followed unless asked. */
export function plainFetch(caFile?: string): PlainFetch {
  const dispatcher = new Agent(caFile ? { connect: { ca: readFileSync(caFile) } } : {});
  return (url, init = {}) =>
    fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: init.redirect ?? 'manual',
      dispatcher,
    });
}

export function basicAuth(user: TestUser): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/** A Bearer token for `scopes` from the registry's token server (as `user`, or anonymous). */
export async function fetchToken(reg: RegistryHandle, scopes: string[], user?: TestUser): Promise<string> {
  const ts = reg.tokenServer;
  if (!ts) throw new Error(`registry ${reg.host} does not use token auth`);
  const url = new URL(ts.realm);
  url.searchParams.set('service', ts.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const res = await fetch(url, { headers: user ? { authorization: basicAuth(user) } : {} });
  if (res.status !== 200) throw new Error(`token server answered ${res.status}`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error('token server answered without a token');
  return token;
}

/** The Authorization header that lets `user` do `scopes` on `reg` (none for anonymous registries). */
export async function authHeader(reg: RegistryHandle, scopes: string[], user: TestUser = reg.users.admin): Promise<Record<string, string>> {
  if (reg.mode === 'anonymous') return {};
  if (reg.mode === 'htpasswd-tls') return { authorization: basicAuth(user) };
  return { authorization: `Bearer ${await fetchToken(reg, scopes, user)}` };
}

/** POST + monolithic PUT of one blob to `baseUrl` (a registry or a proxy); returns the PUT response. */
export async function uploadBlobPlain(
  f: PlainFetch,
  baseUrl: string,
  name: string,
  blob: { digest: string; data: Buffer },
  headers: Record<string, string> = {},
): Promise<Response> {
  const start = await f(`${baseUrl}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`upload POST answered ${start.status}: ${await start.text()}`);
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location') ?? '', `${baseUrl}/v2/${name}/blobs/uploads/`);
  location.searchParams.append('digest', blob.digest);
  return f(location.href, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(blob.data.length) },
    body: blob.data,
  });
}

/** PUT a manifest under `reference` (a tag or its digest). */
export function putManifestPlain(
  f: PlainFetch,
  baseUrl: string,
  name: string,
  reference: string,
  manifest: { data: Buffer; mediaType: string },
  headers: Record<string, string> = {},
): Promise<Response> {
  return f(`${baseUrl}/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': manifest.mediaType },
    body: manifest.data,
  });
}
