import { availableParallelism } from 'node:os';
import { limit } from '../util/limit.js';
import { checkBytesDigest, checkSize } from './validate.js';
import type { ArtifactBlob, Layer, Manifestable } from './types.js';

/**
 * The image walk of `inspect --verify`: every manifest and config an image (or index,
 * recursively) holds is checked against its digest, and every distinct layer the archive
 * carries is handed to `verifyLayer` with bounded parallelism. Each manifest is visited
 * once, however many indexes name it (the model is a DAG, see types.ts ImageIndex).
 */
export async function walkImage(item: Manifestable, verifyLayer: (l: Layer) => Promise<unknown>, opts: { concurrency?: number } = {}): Promise<void> {
  const concurrency = opts.concurrency ?? Math.max(2, Math.min(4, availableParallelism()));
  const run = limit(concurrency);
  await Promise.all(layersToVerify(item).map((l) => run(() => verifyLayer(l))));
}

/** Check the JSON documents of `item` (throwing on the first wrong one) and list the distinct layers to read. */
function layersToVerify(item: Manifestable): Layer[] {
  const layers = new Map<string, Layer>();
  const seen = new Set<string>();
  const collect = (it: Manifestable): void => {
    if (seen.has(`${it.kind} ${it.digest}`)) return;
    seen.add(`${it.kind} ${it.digest}`);
    checkBytesDigest(it.rawManifest, it.digest, `${it.kind === 'index' ? 'index' : 'manifest'} ${it.digest}`);
    if (it.kind === 'index') {
      // Entries the archive does not carry have nothing to verify (inspect lists them as such).
      for (const child of it.manifests) if (child.item) collect(child.item);
      return;
    }
    checkBytesDigest(it.rawConfig, it.config.digest, `config of ${it.digest}`);
    checkSize(it.config.size, it.rawConfig.length, `config ${it.config.digest} of ${it.digest}`);
    for (const l of it.kind === 'artifact' ? it.blobs.map(artifactBlobLayer) : it.layers) {
      if (l.absent) continue; // bytes not in the archive (foreign layers listed by URL only)
      const key = `${l.digest} ${l.diffId} ${l.mediaType} ${l.source.location}`;
      if (!layers.has(key)) layers.set(key, l);
    }
  };
  collect(item);
  return [...layers.values()];
}

/**
 * An artifact's blob as a layer to check: its stored digest and size only (no diff_id, no
 * compression claim, not a tar), which is all an artifact's manifest states.
 */
export function artifactBlobLayer(b: ArtifactBlob): Layer {
  return { digest: b.digest, size: b.size, mediaType: b.mediaType, compression: 'none', diffId: b.digest, diffIdDeclared: false, source: b.source };
}
