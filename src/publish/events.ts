import type { Digest } from '../image/digest.js';
import type { BlobAction } from '../image/sink.js';

/**
 * What the publisher reports while it works. The CLI turns these into a TTY progress
 * display, plain log lines or nothing; library users may subscribe too.
 * `id` identifies one blob transfer to one place (a digest, or a diff_id while compressing).
 * `verify` is a layer read only to check it (no upload read it whole).
 * `blob-queued` comes before a transfer waits for its turn (`--jobs`), `blob-start` when it
 * begins (presence check, mount, upload); `blob-phase` brackets the wait for a layer's
 * content check after its transfer (`verifying`, then `verified`), named by its digest.
 */
export type PublishEvent =
  | { type: 'blob-queued'; place: string; id: string; size?: number }
  | { type: 'blob-start'; place: string; id: string; kind: 'config' | 'layer'; size?: number; compressing: boolean }
  | { type: 'blob-progress'; place: string; id: string; sent: number; size?: number }
  | { type: 'blob-done'; place: string; id: string; digest: Digest; size: number; action: BlobAction }
  | { type: 'blob-phase'; place: string; digest: Digest; phase: 'verifying' | 'verified' }
  | { type: 'manifest'; place: string; reference: string; digest: Digest; mediaType: string }
  | { type: 'verify'; digest: Digest; reason: string }
  | { type: 'note'; message: string };

export type PublishListener = (event: PublishEvent) => void;
