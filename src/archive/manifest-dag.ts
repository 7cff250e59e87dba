import { TarpushError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { isIndexMediaType, isManifestMediaType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { printable } from '../util/printable.js';

/**
 * The manifests of one archive, built once per digest. Indexes may list the same child
 * many times, and nested indexes may share children: read as a tree, 40 KB of such
 * indexes describe more manifests than memory holds. Here every digest is built once and
 * the same object is handed to every parent that lists it, so the model is a DAG whose
 * size is the number of distinct manifests. Also refused:
 * - a cycle (an index listing itself, directly or through others). Honest sha256 digests
 *   cannot form one, but a reader must not wait on itself if they did;
 * - nesting deeper than `maxDepth` (the longest chain, however the DAG is entered);
 * - more than `maxManifests` distinct manifests and indexes (ARCHIVE_TOO_LARGE);
 * - the same digest listed as an index and as a manifest (it can only be one document). Two
 *   manifest types (OCI and Docker) for one digest are the reader's to settle: the document's
 *   own mediaType decides, and a descriptor that disagrees is noted.
 */

/** index, manifest, or other (an unknown type, settled by the document itself). */
const documentKind = (m: string): string => (isIndexMediaType(m) ? 'index' : isManifestMediaType(m) ? 'manifest' : m);

/** Distinct manifests and indexes an archive may hold. */
export const MAX_MANIFESTS = 10_000;
/** Nested indexes deeper than this are refused (real multi-platform images nest one or two). */
export const MAX_INDEX_DEPTH = 32;

/** Builds the item a descriptor names; `child` loads a descriptor it lists through the DAG. */
export type BuildItem<T> = (d: Descriptor, child: (c: Descriptor) => Promise<T>) => Promise<T>;

interface Node<T> {
  readonly mediaType: string;
  value: Promise<T>;
  /** Longest chain of children below this node (0 for a leaf), final once `value` settles. */
  height: number;
}

export class ManifestDag<T> {
  private readonly nodes = new Map<Digest, Node<T>>();

  constructor(
    /** The archive, as messages name it. */
    private readonly label: string,
    private readonly build: BuildItem<T>,
    private readonly limits: { maxManifests?: number; maxDepth?: number } = {},
  ) {}

  /** Number of distinct digests loaded (or loading). */
  get size(): number {
    return this.nodes.size;
  }

  /** The item for `d` (built on first use), as an entry point of the archive. */
  load(d: Descriptor): Promise<T> {
    return this.loadAt(d, []);
  }

  private loadAt(d: Descriptor, path: readonly Digest[]): Promise<T> {
    const maxDepth = this.limits.maxDepth ?? MAX_INDEX_DEPTH;
    if (path.includes(d.digest)) {
      const chain = [...path.slice(path.indexOf(d.digest)), d.digest].join(' → ');
      return Promise.reject(
        new TarpushError('MANIFEST_INVALID', `${this.label}: index ${d.digest} lists itself (${chain})`, { file: this.label, entry: d.digest }),
      );
    }
    const known = this.nodes.get(d.digest);
    if (known) {
      if (documentKind(known.mediaType) !== documentKind(d.mediaType)) {
        return Promise.reject(
          new TarpushError(
            'MANIFEST_INVALID',
            `${this.label}: ${d.digest} is listed as ${printable(JSON.stringify(known.mediaType))} and as ${printable(JSON.stringify(d.mediaType))}`,
            { file: this.label, entry: d.digest },
          ),
        );
      }
      return known.value;
    }
    const maxManifests = this.limits.maxManifests ?? MAX_MANIFESTS;
    if (this.nodes.size >= maxManifests) {
      return Promise.reject(
        new TarpushError('ARCHIVE_TOO_LARGE', `${this.label}: more than ${maxManifests} distinct manifests and indexes (limit); refusing at ${d.digest}`, {
          file: this.label,
          entry: d.digest,
        }),
      );
    }
    if (path.length > maxDepth) return Promise.reject(this.tooDeep(d.digest));
    const node: Node<T> = { mediaType: d.mediaType, value: Promise.resolve(undefined as T), height: 0 };
    this.nodes.set(d.digest, node);
    const here = [...path, d.digest];
    const child = async (c: Descriptor): Promise<T> => {
      const value = await this.loadAt(c, here);
      const h = this.nodes.get(c.digest)!.height + 1;
      if (h > node.height) node.height = h;
      // A chain entered part-way (a shared child reached first by a short path) is still measured whole.
      if (path.length + node.height > maxDepth) throw this.tooDeep(d.digest);
      return value;
    };
    node.value = this.build(d, child);
    return node.value;
  }

  private tooDeep(digest: Digest): TarpushError {
    const max = this.limits.maxDepth ?? MAX_INDEX_DEPTH;
    return new TarpushError('MANIFEST_INVALID', `${this.label}: indexes nested more than ${max} deep (at ${digest})`, { file: this.label, entry: digest });
  }
}
