/**
 * The floor: the same blobs uploaded as fast as plain tools can — one `curl` PUT per blob, all
 * at once, then the manifest. Opening the upload sessions and the manifest PUT are inside the
 * timing (a pusher cannot skip them either); extracting blobs from the archive is not (the
 * bench image keeps each blob as its own file).
 */
import type { BlobFile } from './bench-image.js';
import { runTimed } from './child.js';
import { openUpload, putManifest, withDigest } from './registry-http.js';

export interface FloorResult {
  seconds: number;
  digest: string;
}

/** `Expect:` (empty) stops curl waiting for a 100 Continue before a large body: a round trip no pusher needs. */
export function curlPutArgs(file: string, url: string): string[] {
  return ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', url];
}

export async function floorUpload(
  registryUrl: string,
  repo: string,
  tag: string,
  blobs: BlobFile[],
  manifest: { body: string; mediaType: string },
): Promise<FloorResult> {
  const started = process.hrtime.bigint();
  const locations = await Promise.all(blobs.map(() => openUpload(registryUrl, repo)));
  const puts = await Promise.all(
    blobs.map((b, i) => runTimed('curl', curlPutArgs(b.file, withDigest(locations[i]!, b.digest)), { timeoutMs: 300_000 })),
  );
  puts.forEach((r, i) => {
    if (r.code !== 0 || r.stdout.trim() !== '201') {
      throw new Error(`floor: curl PUT of ${blobs[i]!.digest} answered ${r.stdout.trim() || '-'} (exit ${String(r.code)}): ${r.stderr.trim()}`);
    }
  });
  const digest = await putManifest(registryUrl, repo, tag, manifest.body, manifest.mediaType);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, digest };
}
