import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { parseIndex } from '../image/manifest.js';
import { MediaType, isIndexMediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { REF_NAME_ANNOTATION, isRefName } from '../ocidir/index.js';
import type { TarFile } from './tar-file.js';
import { TarSink, quoted, startLayoutTar } from './tar-sink.js';

/**
 * An OCI image layout in a tar (skopeo's and podman's `oci-archive:`): `oci-layout`,
 * `blobs/sha256/<hex>` as they are put, and `index.json` last. Tags become
 * `org.opencontainers.image.ref.name` annotations. index.json lists every tagged manifest
 * (one entry per tag) and every manifest put without a tag that no other manifest put
 * refers to (an untagged image or index pushed by digest); the children of an index are
 * only blobs, as in any layout.
 */

export interface OciArchiveOptions {
  /** Shown in messages (default `oci-archive:FILE`). */
  label?: string;
}

export class OciArchiveSink extends TarSink {
  /** ref name → digest, in the order the names were first put. */
  private readonly refNames = new Map<string, Digest>();

  private constructor(name: string, tar: TarFile) {
    super(name, tar);
  }

  /** Start writing `file` (as `FILE.tmp-<pid>-…` until close()). */
  static async create(file: string, opts: OciArchiveOptions = {}): Promise<OciArchiveSink> {
    const label = opts.label ?? `oci-archive:${file}`;
    return startLayoutTar(file, label, (tar) => new OciArchiveSink(label, tar));
  }

  protected checkName(reference: string): string {
    if (!isRefName(reference)) throw new TarpushError('REFERENCE_INVALID', `${quoted(reference)} is not a valid tag for ${this.name}`, { file: this.name });
    return reference;
  }

  protected recordName(name: string, digest: Digest): void {
    this.refNames.set(name, digest);
  }

  /** The descriptor index.json lists for a stored manifest. */
  private descriptor(digest: Digest, annotations?: Record<string, string>): Descriptor {
    const m = this.manifests.get(digest)!;
    return { mediaType: m.mediaType, digest, size: m.raw.length, ...(annotations ? { annotations } : {}) };
  }

  protected async trailer(): Promise<void> {
    const children = new Set<string>();
    for (const m of this.manifests.values()) {
      if (isIndexMediaType(m.mediaType)) for (const c of parseIndex(m.raw, `${this.name}: index ${m.digest}`).manifests) children.add(c.digest);
    }
    const tagged = new Set(this.refNames.values());
    const entries: Descriptor[] = [];
    for (const [name, digest] of this.refNames) entries.push(this.descriptor(digest, { [REF_NAME_ANNOTATION]: name }));
    for (const digest of this.manifests.keys()) if (!tagged.has(digest) && !children.has(digest)) entries.push(this.descriptor(digest));
    if (entries.length === 0) throw new TarpushError('ARCHIVE_EMPTY', `${this.name}: no manifest was put, so the archive would hold no image`, { file: this.name });
    for (const e of entries) this.requireContents(this.manifests.get(e.digest)!, true);
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries };
    await this.tar.addBytes('index.json', Buffer.from(JSON.stringify(index)));
  }
}
