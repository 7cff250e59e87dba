/**
 * Shared set-up for the remote-verb tests: a real registry seeded by skopeo with the
 * committed fixtures, and skopeo's own view of each image to compare tarpush with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClientOptions } from '../../src/registry/index.js';
import { fixtureByName } from '../support/fixtures.js';
import type { RegistryHandle, TestUser } from '../support/registry.js';
import { dockerRef, skopeo, skopeoAuthArgs, skopeoDestArgs } from '../support/skopeo.js';

/** Images every remote test registry holds (repository:tag). */
export const seeded = {
  /** OCI manifest, linux/amd64, 3 gzip layers (fixtures/oci-layout, ref demo). */
  oci: 'fx/demo:v1',
  /** Docker schema 2 manifest of the same image (from the docker-save fixture). */
  docker: 'fx/docker:v1',
  /** OCI index with linux/amd64 and linux/arm64/v8 (fixtures/multi-platform, --all). */
  multi: 'fx/multi:v1',
} as const;

/** Copy the fixtures into `reg` with skopeo, as the admin user. */
export async function seedRegistry(reg: RegistryHandle): Promise<void> {
  const dest = skopeoDestArgs(reg);
  await Promise.all([
    skopeo(['copy', '--quiet', ...dest, `oci:${fixtureByName('oci-layout').path}:demo`, dockerRef(reg, seeded.oci)]),
    skopeo(['copy', '--quiet', ...dest, `docker-archive:${fixtureByName('docker-archive.tar').path}`, dockerRef(reg, seeded.docker)]),
    skopeo(['copy', '--quiet', '--all', ...dest, `oci:${fixtureByName('multi-platform').path}:multi`, dockerRef(reg, seeded.multi)]),
  ]);
}

/** A home directory with no credentials in it, so only what a test passes is used. */
export async function emptyHome(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tarpush-remote-home-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Client options for a test registry: its CA, and `user`'s credentials when given. */
export function clientOptionsFor(reg: RegistryHandle, home: string, user?: TestUser): ClientOptions {
  return {
    env: { HOME: home },
    homeDir: home,
    retries: 0,
    ...(reg.caFile ? { caFile: reg.caFile } : {}),
    ...(user ? { username: user.username, password: user.password } : {}),
  };
}

export interface SkopeoPlatform {
  arch: string;
  variant?: string;
}

const platformArgs = (p?: SkopeoPlatform): string[] => (p ? ['--override-arch', p.arch, ...(p.variant ? ['--override-variant', p.variant] : [])] : []);

/** `skopeo inspect --format {{.Digest}}`: the digest of the manifest the reference names (an index's own digest). */
export async function skopeoDigest(reg: RegistryHandle, ref: string, user?: TestUser): Promise<string> {
  return (await skopeo(['inspect', '--format', '{{.Digest}}', ...skopeoAuthArgs(reg, user), dockerRef(reg, ref)])).stdout.trim();
}

/** `skopeo inspect --raw`: the manifest bytes as served. */
export async function skopeoRaw(reg: RegistryHandle, ref: string): Promise<string> {
  return (await skopeo(['inspect', '--raw', ...skopeoAuthArgs(reg), dockerRef(reg, ref)])).stdout;
}

/** `skopeo inspect --config --raw` (for an index: the config of the platform picked). */
export async function skopeoConfig(reg: RegistryHandle, ref: string, platform?: SkopeoPlatform): Promise<string> {
  return (await skopeo([...platformArgs(platform), 'inspect', '--config', '--raw', ...skopeoAuthArgs(reg), dockerRef(reg, ref)])).stdout;
}

/** `skopeo list-tags`: the tags in the order skopeo prints them. */
export async function skopeoTags(reg: RegistryHandle, repo: string): Promise<string[]> {
  const out = (await skopeo(['list-tags', ...skopeoAuthArgs(reg), dockerRef(reg, repo)])).stdout;
  return (JSON.parse(out) as { Tags: string[] | null }).Tags ?? [];
}

/** Whether skopeo still finds a reference. */
export async function skopeoFinds(reg: RegistryHandle, ref: string): Promise<boolean> {
  return skopeo(['inspect', '--raw', ...skopeoAuthArgs(reg), dockerRef(reg, ref)]).then(
    () => true,
    () => false,
  );
}
