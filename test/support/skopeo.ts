/**
 * skopeo as an independent client: seeds registries with images and reads back what our
 * client pushed. Runs without a shell and without the user's auth files (REGISTRY_AUTH_FILE
 * points at a file that does not exist), so only the credentials given here are used.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type ExecResult } from './exec.js';
import type { RegistryHandle, TestUser } from './registry.js';

const NO_AUTH_FILE = path.join(os.tmpdir(), `tarpush-skopeo-no-auth-${process.pid}`, 'auth.json');

export async function skopeo(args: string[], opts: { input?: string } = {}): Promise<ExecResult> {
  return run('skopeo', args, {
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    env: { ...process.env, REGISTRY_AUTH_FILE: NO_AUTH_FILE },
  });
}

/** A directory holding only the registry's CA as ca.crt (what --cert-dir expects). */
function certDir(reg: RegistryHandle): string {
  if (!reg.caFile) throw new Error(`registry ${reg.host} has no CA file`);
  const dir = path.join(path.dirname(reg.caFile), 'skopeo-cert-dir');
  mkdirSync(dir, { recursive: true });
  copyFileSync(reg.caFile, path.join(dir, 'ca.crt'));
  return dir;
}

function authArgs(prefix: '' | 'dest-' | 'src-', reg: RegistryHandle, user?: TestUser): string[] {
  const args: string[] = [];
  if (reg.url.startsWith('https:')) args.push(`--${prefix}cert-dir`, certDir(reg));
  else args.push(`--${prefix}tls-verify=false`); // plain http needs it
  if (reg.mode !== 'anonymous') {
    const who = user ?? reg.users.admin;
    args.push(`--${prefix}creds`, `${who.username}:${who.password}`);
  }
  return args;
}

/** TLS and credential flags for single-image commands (inspect, delete, list-tags). Default user: admin. */
export function skopeoAuthArgs(reg: RegistryHandle, user?: TestUser): string[] {
  return authArgs('', reg, user);
}

/** The same flags for the destination of `skopeo copy`. */
export function skopeoDestArgs(reg: RegistryHandle, user?: TestUser): string[] {
  return authArgs('dest-', reg, user);
}

/** The same flags for the source of `skopeo copy`. */
export function skopeoSrcArgs(reg: RegistryHandle, user?: TestUser): string[] {
  return authArgs('src-', reg, user);
}

/** `docker://host/ref` for a reference given with or without the registry host. */
export function dockerRef(reg: RegistryHandle, ref: string): string {
  return `docker://${ref.startsWith(`${reg.host}/`) ? ref : `${reg.host}/${ref}`}`;
}

/** Copies an image (any skopeo transport, e.g. `oci:/dir:tag`) into the registry as admin. */
export async function pushWithSkopeo(fixtureTransport: string, reg: RegistryHandle, ref: string): Promise<void> {
  await skopeo(['copy', '--quiet', ...skopeoDestArgs(reg), fixtureTransport, dockerRef(reg, ref)]);
}
