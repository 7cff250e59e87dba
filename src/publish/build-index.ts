import { TarpushError } from '../errors.js';
import { sha256 } from '../image/digest.js';
import { buildIndex } from '../image/manifest.js';
import { MediaType, type ManifestFormat } from '../image/media-types.js';
import { platformText } from '../image/platform.js';
import type { ArchiveImage, Image, ImageIndex, IndexChild, Platform } from '../image/types.js';
import { openSource, type SourceImages } from '../places/open-source.js';
import { parsePlace } from '../places/parse.js';
import type { ClientOptions } from '../registry/options.js';
import { printable } from '../util/printable.js';

export interface IndexSources {
  /** Places that hold one single-platform image each. */
  sources: readonly string[];
  /** `index append`: the registry reference whose index the new children join. */
  append?: string;
  format: ManifestFormat;
  client?: ClientOptions;
}

/**
 * An image index (or Docker manifest list) of single-platform images from any places — the
 * CI flow of one build per architecture, then one index. Each child's platform comes from its
 * config (os, architecture, variant, os.version), as `docker manifest create` and crane take
 * it; two children of one platform are an error. The result is one image for publishImages:
 * the children and their blobs go first, the index last.
 */
export async function openIndexSources(opts: IndexSources): Promise<{ images: ArchiveImage[]; close(): Promise<void> }> {
  const opened: SourceImages[] = [];
  const close = async () => void (await Promise.allSettled(opened.map((o) => o.close())));
  try {
    const children: IndexChild[] = [];
    if (opts.append) {
      const dst = parsePlace(opts.append, 'sink');
      if (dst.kind !== 'registry') throw new TarpushError('USAGE', `index append reads the index at ${printable(opts.append)}: name a registry reference`);
      const existing = await openSource(dst, { client: opts.client });
      opened.push(existing);
      const root = existing.images[0]!.root;
      if (root.kind !== 'index') throw new TarpushError('USAGE', `index append: ${printable(opts.append)} is a single image, not an index (use index create)`);
      children.push(...root.manifests);
    }
    const { selectImages } = await import('../archive/select.js');
    for (const text of opts.sources) {
      const source = await openSource(parsePlace(text, 'source'), { client: opts.client });
      opened.push(source);
      const [im] = selectImages(source, { image: source.selects });
      const root = im!.root;
      if (root.kind !== 'image') {
        throw new TarpushError('USAGE', `${printable(text)} holds ${root.kind === 'index' ? 'a multi-platform index' : 'an artifact'}; an index is built from single-platform images`);
      }
      children.push({ descriptor: { mediaType: root.mediaType, digest: root.digest, size: root.rawManifest.length, platform: platformOf(root) }, item: root });
    }
    checkDistinct(children);
    const rawManifest = buildIndex({ format: opts.format, manifests: children.map((c) => c.descriptor) });
    const index: ImageIndex = {
      kind: 'index',
      mediaType: opts.format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex,
      rawManifest,
      digest: sha256(rawManifest),
      manifests: children,
    };
    return { images: [{ index: 0, repoTags: [], root: index }], close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The platform an image's config declares (the descriptor of an index needs it). */
function platformOf(image: Image): Platform {
  const config = JSON.parse(image.rawConfig.toString('utf8')) as Record<string, unknown>;
  const str = (k: string) => (typeof config[k] === 'string' && config[k] !== '' ? (config[k] as string) : undefined);
  const os = str('os') ?? image.platform?.os;
  const architecture = str('architecture') ?? image.platform?.architecture;
  if (!os || !architecture) throw new TarpushError('CONFIG_INVALID', `image ${image.digest}: its config names no os/architecture, so it cannot be placed in an index`);
  const p: Platform = { architecture, os };
  const variant = str('variant');
  if (variant) p.variant = variant;
  const version = str('os.version');
  if (version) p['os.version'] = version;
  if (Array.isArray(config['os.features'])) p['os.features'] = (config['os.features'] as unknown[]).filter((f): f is string => typeof f === 'string');
  return p;
}

function checkDistinct(children: readonly IndexChild[]): void {
  const seen = new Map<string, string>();
  for (const c of children) {
    const p = c.descriptor.platform;
    if (!p) continue;
    const key = `${platformText(p)} ${p['os.version'] ?? ''}`;
    const other = seen.get(key);
    if (other && other !== c.descriptor.digest) {
      throw new TarpushError('USAGE', `two images for ${platformText(p)}${p['os.version'] ? ` (os.version ${p['os.version']})` : ''}: ${other} and ${c.descriptor.digest}; an index holds one per platform`);
    }
    seen.set(key, c.descriptor.digest);
  }
}
