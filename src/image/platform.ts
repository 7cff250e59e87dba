import { TarpushError } from '../errors.js';
import type { Descriptor, Platform } from './types.js';

/**
 * Platforms, the one home: `--platform os/arch[/variant]` parsing, matching (for archives and
 * registries alike), text, picking one entry of an index, and telling attestations apart. Architecture names are compared the way containerd normalises them (x86_64 is
 * amd64, aarch64 is arm64, arm64 means arm64/v8, plain arm means arm/v7), so a user may
 * write either spelling.
 */

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
};

const COMPONENT = /^[a-z0-9._-]+$/;

/** Parse `os/arch[/variant]`; USAGE error otherwise. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !COMPONENT.test(p))) {
    throw new TarpushError('USAGE', `--platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]`, for messages, matching --platform and output. */
export function platformText(p: Pick<Platform, 'os' | 'architecture' | 'variant'> | undefined): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';
}

/** The normalised `os/arch/variant` key two platforms are compared by. */
function normalised(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): { os: string; architecture: string; variant: string } {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  if (architecture === 'arm64' && variant === 'v8') variant = '';
  if (architecture === 'arm' && variant === '') variant = 'v7';
  return { os: p.os.toLowerCase(), architecture, variant };
}

/** Whether `have` is the platform `wanted` names (a wanted platform without variant accepts any variant). */
export function platformMatches(have: Platform | undefined, wanted: PlatformSpec, exact = false): boolean {
  if (!have) return false;
  const h = normalised(have);
  const w = normalised(wanted);
  if (h.os !== w.os || h.architecture !== w.architecture) return false;
  if (h.variant === w.variant) return true;
  return !exact && wanted.variant === undefined;
}

/**
 * Index entries that describe something other than a runnable image: BuildKit attestation
 * manifests (platform unknown/unknown, annotated with their reference type).
 */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/**
 * The one index entry for `wanted`: an exact match first; without a variant in `wanted`,
 * a single entry of that os/arch. IMAGE_NOT_FOUND names the platforms the index has;
 * IMAGE_AMBIGUOUS when several variants would do.
 */
export function selectPlatform(entries: readonly Descriptor[], wanted: PlatformSpec, where: string): Descriptor {
  const images = entries.filter((d) => !isAttestation(d));
  const exact = images.filter((d) => platformMatches(d.platform, wanted, true));
  if (exact.length >= 1) return exact[0]!;
  const loose = images.filter((d) => platformMatches(d.platform, wanted));
  if (loose.length === 1) return loose[0]!;
  const have = images.map((d) => platformText(d.platform)).join(', ') || 'no platform entries';
  if (loose.length > 1) {
    throw new TarpushError('IMAGE_AMBIGUOUS', `${where}: --platform ${platformText(wanted)} matches ${loose.length} entries (${loose.map((d) => platformText(d.platform)).join(', ')}): add the variant`);
  }
  throw new TarpushError('IMAGE_NOT_FOUND', `${where}: no manifest for --platform ${platformText(wanted)} (the index has ${have})`);
}

/** This machine's platform as `os/arch[/variant]` in the OCI spelling (x64 → amd64). */
export function hostPlatform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return `${os}/${arch}${arch === 'arm' ? '/v7' : ''}`;
}
