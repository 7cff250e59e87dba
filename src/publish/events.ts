import type { Digest } from '../image/digest.js';
import type { BlobAction } from '../image/sink.js';

/**
 * What the publisher reports while it works. The CLI turns these into a TTY progress
 * display, plain log lines or nothing; library users may subscribe too.
 * `id` identifies one blob transfer to one place (a digest, or a diff_id while compressing).
 * `verify` is a layer read only to check it (no upload read it whole).
 */
export type PublishEvent =
  | { type: 'blob-start'; place: string; id: string; kind: 'config' | 'layer'; size?: number; compressing: boolean }
  | { type: 'blob-progress'; place: string; id: string; sent: number; size?: number }
  | { type: 'blob-done'; place: string; id: string; digest: Digest; size: number; action: BlobAction }
  | { type: 'manifest'; place: string; reference: string; digest: Digest; mediaType: string }
  | { type: 'verify'; digest: Digest; reason: string }
  | { type: 'note'; message: string };

export type PublishListener = (event: PublishEvent) => void;
