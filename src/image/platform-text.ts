import type { Platform } from './types.js';

/** `os/arch[/variant]`, for messages, matching --platform and output. */
export function platformText(p: Pick<Platform, 'os' | 'architecture' | 'variant'> | undefined): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';
}
