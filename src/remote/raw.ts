import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { parseIndex, parseManifest } from '../image/manifest.js';
import { formatReference, type Reference } from '../reference/index.js';
import { blobChunks, blobSize } from './blob-source.js';
import { CONFIG_MAX } from './describe-remote.js';
import { ACCEPT_ANY, fetchManifest, notAnImage, type FetchedManifest } from './fetch-manifest.js';
import { manifestReference, toReference, withClient, type RemoteOptions } from './open.js';
import { isAttestation, parsePlatform, platformText, type PlatformSpec } from '../image/platform.js';
import { platformManifest } from './resolve-digest.js';

/**
 * Raw documents and blobs of a registry reference, as stored, for `manifest`, `config` and
 * `blob` (`… | jq`). Every byte handed out has been checked against its digest: manifests
 * and configs before they are returned, a streamed blob at its end.
 */

export interface RawOptions extends RemoteOptions {
  /** On an index: the manifest (or config) of this platform (`os/arch[/variant]`). */
  platform?: PlatformSpec | string;
}

const wantedOf = (opts: RawOptions): PlatformSpec | undefined => (typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform);

/**
 * The manifest a reference names, whatever its type (an index, an image, an artifact); with
 * `platform`, the manifest of that platform (an index is resolved, a single image must be
 * of that platform).
 */
export async function rawManifest(ref: Reference | string, opts: RawOptions = {}): Promise<FetchedManifest> {
  const r = toReference(ref);
  const wanted = wantedOf(opts);
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    const top = await fetchManifest(repo, manifestReference(r), ACCEPT_ANY);
    return wanted ? platformManifest(repo, top, wanted, formatReference(r)) : top;
  });
}

/**
 * The config blob of the image a reference names (digest and size checked). An index needs
 * `platform`: which of its images is meant is the caller's choice, not the host's.
 */
export async function rawConfig(ref: Reference | string, opts: RawOptions = {}): Promise<{ raw: Buffer; digest: Digest }> {
  const r = toReference(ref);
  const wanted = wantedOf(opts);
  const where = formatReference(r);
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    let m = await fetchManifest(repo, manifestReference(r), ACCEPT_ANY);
    if (wanted) m = await platformManifest(repo, m, wanted, where);
    else if (m.kind === 'index') {
      const have = parseIndex(m.raw, where).manifests.filter((d) => !isAttestation(d)).map((d) => platformText(d.platform));
      throw new TarpushError('IMAGE_AMBIGUOUS', `${where} is a multi-platform index (${have.join(', ') || 'no platforms'}): choose one with --platform`);
    }
    if (m.kind === 'other') throw notAnImage(where, m.mediaType);
    const config = parseManifest(m.raw, where).config;
    const raw = await repo.getBlobBytes(config.digest, CONFIG_MAX);
    if (raw.length !== config.size) {
      throw new TarpushError('SIZE_MISMATCH', `${where}: config ${config.digest} is ${raw.length} bytes, the manifest says ${config.size}`, {
        expected: String(config.size),
        actual: String(raw.length),
      });
    }
    return { raw, digest: config.digest };
  });
}

/**
 * Stream the blob `ref@digest` names to `write` (awaited per chunk, so a slow reader holds
 * the download back). Broken bodies are resumed with Range; the digest is checked at the
 * end, after the last chunk was handed over (REGISTRY_DIGEST_MISMATCH then).
 */
export async function streamBlob(ref: Reference | string, write: (chunk: Buffer) => Promise<void>, opts: RemoteOptions = {}): Promise<{ digest: Digest; size: number }> {
  const r = toReference(ref);
  if (r.digest === undefined) throw new TarpushError('USAGE', `${formatReference(r)}: name the blob by digest (repository@sha256:…)`);
  const digest = r.digest;
  return withClient(r.registry, opts, async (client) => {
    const repo = client.repository(r.repository);
    const size = await blobSize(repo, digest);
    // Without a size (no Content-Length on the HEAD) the plain verified download is used, not resumable.
    const stream: AsyncIterable<Buffer> = size === undefined ? await repo.getBlob(digest) : blobChunks(repo, digest, size);
    let sent = 0;
    for await (const chunk of stream) {
      await write(chunk);
      sent += chunk.length;
    }
    return { digest, size: sent };
  });
}
