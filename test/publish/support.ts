import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../support/exec.js';

/** Repository root (compiled tests live in dist/test/publish). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixture = (name: string): string => join(repoRoot, 'fixtures', name);

export interface ExpectedImage {
  refName?: string;
  repoTags?: string[];
  configDigest: string;
  diffIds: string[];
  manifestDigest?: string;
  layers?: Array<{ digest: string; size: number; mediaType: string }>;
}
export const expected: Record<string, { images: ExpectedImage[] }> = JSON.parse(
  readFileSync(join(repoRoot, 'fixtures', 'expected.json'), 'utf8'),
);

export const sha256hex = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function tempDir(t: { after(fn: () => Promise<void>): void }, prefix = 'tarpush-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What an independent client (skopeo) sees at a plain-HTTP loopback registry reference. */
export async function skopeoView(ref: string, extra: string[] = []): Promise<{ manifestDigest: string; configDigest: string; diffIds: string[]; raw: string }> {
  const raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...extra, `docker://${ref}`])).stdout;
  const config = (await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', ...extra, `docker://${ref}`])).stdout;
  return {
    raw,
    manifestDigest: sha256hex(raw),
    configDigest: sha256hex(config),
    diffIds: JSON.parse(config).rootfs.diff_ids,
  };
}

/** skopeo copy to a dir: transport verifies every blob digest on the way. */
export async function skopeoPullVerifies(ref: string, dir: string, extra: string[] = []): Promise<void> {
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', ...extra, `docker://${ref}`, `dir:${dir}`]);
}

export async function registryTags(url: string, repo: string, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await fetch(`${url}/v2/${repo}/tags/list`, { headers });
  if (res.status === 404) return [];
  const body = (await res.json()) as { tags: string[] | null };
  return body.tags ?? [];
}
