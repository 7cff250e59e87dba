import { TarpushError } from '../errors.js';
import { digestHex, type Digest } from '../image/digest.js';
import { parseManifest } from '../image/manifest.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { REF_NAME_ANNOTATION } from '../ocidir/index.js';
import { isTag, parseReference } from '../reference/index.js';
import type { TarFile } from './tar-file.js';
import { TarSink, blobEntry, quoted, startLayoutTar } from './tar-sink.js';

/**
 * A `docker save` archive (skopeo's and podman's `docker-archive:`), in the layout Docker
 * writes from version 25 on: every blob as `blobs/sha256/<hex>` (written as it is put),
 * `oci-layout` and an `index.json` naming each image, and the classic `manifest.json`
 * (Config, RepoTags, Layers pointing into blobs/) and `repositories` last. `docker load`
 * and `podman load` read manifest.json (podman tries the OCI side first and finds the same
 * image and names there); because the real manifest is stored too, reading the archive back
 * (tarpush, skopeo oci-archive:) gives the manifest digest that was put, not a rebuilt one.
 *
 * One platform per image: an index cannot be put (save one platform of it, or use
 * oci-archive). Layers are stored as they were put (compressed or not): both loaders
 * decompress them.
 */

export interface DockerArchiveOptions {
  /** Repository a bare tag is put under (`example.com/app` + `v1` → RepoTag `example.com/app:v1`). */
  repository?: string;
  /** Shown in messages (default `docker-archive:FILE`). */
  label?: string;
}

const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';

/** `repo:tag` split at the tag colon (the one after the last slash). */
function splitRepoTag(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(':');
  return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
}

export class DockerArchiveSink extends TarSink {
  /** RepoTag → digest, in the order the names were first put. */
  private readonly repoTags = new Map<string, Digest>();

  private constructor(
    name: string,
    tar: TarFile,
    private readonly repository: string | undefined,
  ) {
    super(name, tar);
  }

  /** Start writing `file` (as `FILE.tmp-<pid>-…` until close()). */
  static async create(file: string, opts: DockerArchiveOptions = {}): Promise<DockerArchiveSink> {
    const label = opts.label ?? `docker-archive:${file}`;
    if (opts.repository !== undefined) {
      const r = parseReference(opts.repository);
      if (r.tag !== undefined || r.digest !== undefined) {
        throw new TarpushError('REFERENCE_INVALID', `${label}: repository ${quoted(opts.repository)} must not carry a tag or digest`);
      }
    }
    return startLayoutTar(file, label, (tar) => new DockerArchiveSink(label, tar, opts.repository));
  }

  protected override acceptManifest(digest: Digest, mediaType: string): void {
    if (isIndexMediaType(mediaType)) {
      throw new TarpushError(
        'USAGE',
        `${this.name}: a docker archive holds one platform per image, and ${digest} is a multi-platform index (${mediaType}): pick one platform, or write an oci-archive`,
        { file: this.name },
      );
    }
    if (!isManifestMediaType(mediaType)) {
      throw new TarpushError('MEDIA_TYPE_UNKNOWN', `${this.name}: ${digest} is a ${quoted(mediaType)}, not an image manifest`, { file: this.name });
    }
  }

  /** A bare tag goes under the repository given; `repo:tag` is taken as a whole RepoTag. */
  protected checkName(reference: string): string {
    if (isTag(reference)) {
      if (this.repository === undefined) {
        throw new TarpushError('USAGE', `${this.name}: tag ${quoted(reference)} needs a repository name (docker-archive:FILE:repo:tag)`, { file: this.name });
      }
      return `${this.repository}:${reference}`;
    }
    const r = parseReference(reference); // REFERENCE_INVALID when it is neither
    if (r.tag === undefined || r.digest !== undefined) {
      throw new TarpushError('REFERENCE_INVALID', `${this.name}: ${quoted(reference)} is not a tag or repo:tag`, { file: this.name });
    }
    return reference;
  }

  protected recordName(name: string, digest: Digest): void {
    this.repoTags.set(name, digest);
  }

  protected async trailer(): Promise<void> {
    if (this.manifests.size === 0) throw new TarpushError('ARCHIVE_EMPTY', `${this.name}: no manifest was put, so the archive would hold no image`, { file: this.name });
    const manifestJson: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
    const repositories: Record<string, Record<string, string>> = {};
    const index: Descriptor[] = [];
    for (const m of this.manifests.values()) {
      this.requireContents(m, false);
      const parsed = parseManifest(m.raw, `${this.name}: manifest ${m.digest}`);
      const names = [...this.repoTags].filter(([, d]) => d === m.digest).map(([n]) => n);
      const layers = parsed.layers.map((l) => blobEntry(l.digest));
      manifestJson.push({ Config: blobEntry(parsed.config.digest), RepoTags: names, Layers: layers });
      const top = parsed.layers.at(-1);
      for (const n of names) {
        const { repo, tag } = splitRepoTag(n);
        if (top) (repositories[repo] ??= {})[tag] = digestHex(top.digest);
      }
      const entry = (annotations?: Record<string, string>): Descriptor => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.raw.length,
        ...(annotations ? { annotations } : {}),
      });
      if (names.length === 0) index.push(entry());
      for (const n of names) index.push(entry({ [CONTAINERD_IMAGE_NAME]: n, [REF_NAME_ANNOTATION]: splitRepoTag(n).tag }));
    }
    await this.tar.addBytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index })));
    await this.tar.addBytes('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    await this.tar.addBytes('repositories', Buffer.from(JSON.stringify(repositories)));
  }
}
