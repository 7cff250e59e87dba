import type { ArchiveImage, Manifestable } from '../../image/types.js';
import type { ArchiveFiles } from '../files.js';
import { sameRepoTag } from '../repo-tag.js';
import { digestFromConfigName, imageFromEntry, newEntryMemo, type ManifestJsonEntry } from './manifest-json.js';
import { readOciLayout } from './oci-layout.js';

/**
 * `docker save` from Docker 25 on: an OCI image layout plus the legacy manifest.json whose
 * Config/Layers point into `blobs/sha256/`. The OCI side is preferred: it holds the real
 * manifest bytes (so the pushed digest is the one `docker images --digests` shows) and
 * every digest. Names come from manifest.json RepoTags, matched to index.json entries by
 * config digest; when an entry carries `io.containerd.image.name` (Docker writes one
 * index.json entry per tag), only the RepoTags naming that same tag are given to it.
 */

const IMAGE_NAME = 'io.containerd.image.name';

/** Config digests of every image under `item`, each manifest visited once (the model is a DAG). */
function configDigests(item: Manifestable | undefined, into = new Set<string>(), seen = new Set<string>()): Set<string> {
  if (!item || seen.has(item.digest)) return into;
  seen.add(item.digest);
  if (item.kind === 'image') into.add(item.config.digest);
  else if (item.kind === 'index') for (const c of item.manifests) configDigests(c.item, into, seen);
  return into;
}

export async function readDockerSaveOci(files: ArchiveFiles, entries: ManifestJsonEntry[]): Promise<ArchiveImage[]> {
  const layout = await readOciLayout(files, { nullManifestsAreEmpty: true });
  const covered = new Set<string>();
  const out: ArchiveImage[] = layout.map((e) => {
    const configs = configDigests(e.root);
    for (const c of configs) covered.add(c);
    const tags = [
      ...new Set(
        entries.filter((m) => {
          const d = digestFromConfigName(m.config);
          return d !== undefined && configs.has(d);
        }).flatMap((m) => m.repoTags),
      ),
    ];
    const name = e.descriptor.annotations?.[IMAGE_NAME];
    let repoTags = tags;
    if (name !== undefined) {
      const same = tags.filter((t) => sameRepoTag(t, name));
      repoTags = same.length > 0 ? same : [name];
    }
    return { index: e.index, repoTags, root: e.root, ...(e.refName !== undefined ? { refName: e.refName } : {}) };
  });
  // Images manifest.json lists and index.json does not: Docker 25.0 leaves untagged images
  // (`docker save <image id>`) out of index.json (`"manifests": null` when that is all it
  // saved). They are read from manifest.json, as skopeo and go-containerregistry read them.
  const rest = entries.filter((m) => {
    const d = digestFromConfigName(m.config);
    return d === undefined || !covered.has(d);
  });
  const memo = newEntryMemo();
  for (const [k, m] of rest.entries()) {
    const image = await imageFromEntry(files, m, entries.indexOf(m), memo);
    out.push({ ...image, index: layout.length + k });
  }
  return out;
}
