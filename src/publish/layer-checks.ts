import { LayerVerifier, type LayerVerified, type VerifyOptions } from '../image/verify.js';
import type { ByteSource, Layer } from '../image/types.js';

/**
 * The verification of each layer, once per publish whichever place reads it first: the
 * first full read (an upload) is checked as it streams; a later upload of the same layer to
 * another place reads it unchecked; and a layer no upload read in full is read once more
 * before a manifest may name it (the destination already held it, or an upload resumed
 * part-way). One instance per publish: nothing is remembered across runs here.
 */
export class LayerChecks {
  private readonly checks = new Map<Layer, Map<boolean, CheckedSource>>();
  private readonly verifier = new LayerVerifier();
  private readonly claims = new Map<string, Promise<LayerVerified>>();

  /** `onReread` hears of each layer read only to verify it (no upload read it whole). */
  constructor(private readonly onReread: (layer: Layer, why: string) => void = () => {}) {}

  /** Stops the verification workers. */
  close(): Promise<void> {
    return this.verifier.close();
  }

  /**
   * A blob a registry claims holds `layer.diffId` (a pairing learned from an image there),
   * read once per publish, whichever place asks: decompressed, hashed and walked as a tar.
   */
  proveClaim(layer: Layer, why: string): Promise<LayerVerified> {
    const key = `${layer.digest} ${layer.diffId}`;
    let p = this.claims.get(key);
    if (!p) {
      this.onReread(layer, why);
      this.claims.set(key, (p = this.verifier.verifyLayer(layer, { diffIds: true })));
    }
    return p;
  }

  /** The layer's source, verified as it streams, shared by every place. */
  for(layer: Layer, opts: VerifyOptions): CheckedSource {
    let bySetting = this.checks.get(layer);
    if (!bySetting) this.checks.set(layer, (bySetting = new Map()));
    const key = opts.diffIds !== false;
    let checked = bySetting.get(key);
    if (!checked) bySetting.set(key, (checked = newCheckedSource(this.verifier, layer, opts, this.onReread)));
    return checked;
  }
}

export interface CheckedSource {
  source: ByteSource;
  /**
   * Resolves once the layer is proven: the check of a full read that an upload made, or a
   * read of its own when no upload read it whole (the read happens at most once; `why` says
   * what made it necessary, for the progress output).
   */
  settle(why: string): Promise<LayerVerified>;
}

function newCheckedSource(verifier: LayerVerifier, layer: Layer, opts: VerifyOptions, onReread: (layer: Layer, why: string) => void): CheckedSource {
  const v = verifier.verifyingSource(layer, opts);
  let fullReadEnded = false;
  let ownRead: Promise<LayerVerified> | undefined;
  const source: ByteSource = {
    size: v.source.size,
    location: v.source.location,
    ...(v.source.file ? { file: v.source.file } : {}),
    open(start = 0, end = v.source.size) {
      const stream = v.source.open(start, end);
      if (start === 0 && end === v.source.size) stream.once('end', () => (fullReadEnded = true));
      return stream;
    },
  };
  const reread = (why: string) => {
    onReread(layer, why);
    return verifier.verifyLayer(layer, opts);
  };
  return { source, settle: (why) => (fullReadEnded ? v.verified : (ownRead ??= reread(why))) };
}
