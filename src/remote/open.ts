import { TarpushError } from '../errors.js';
import { parseReference, parseRepository, type Reference } from '../reference/index.js';
import type { ClientOptions, RegistryClient } from '../registry/index.js';

/** Options every remote operation takes. */
export interface RemoteOptions {
  /** Credentials, TLS and retry settings for a client made for this one operation. */
  clientOptions?: ClientOptions;
  /**
   * A client to use instead (it must be for the reference's registry). It is left open, so
   * several operations can share its connections and tokens.
   */
  client?: RegistryClient;
}

/**
 * Run `fn` with a client for `registry`: the caller's, or one made for this call and closed
 * afterwards. A private client (not the clientFor cache) means that closing it can never
 * pull connections from under another operation that happens to share the options object.
 */
export async function withClient<T>(registry: string, opts: RemoteOptions, fn: (client: RegistryClient) => Promise<T>): Promise<T> {
  if (opts.client) {
    if (opts.client.registry !== registry) {
      throw new TarpushError('USAGE', `the client given is for ${opts.client.registry}, not ${registry}`);
    }
    return fn(opts.client);
  }
  // Loaded on first use, so importing tarpush's remote verbs does not load the HTTP stack.
  const { RegistryClient } = await import('../registry/index.js');
  const client = new RegistryClient(registry, opts.clientOptions);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** A reference from text (`latest` when neither tag nor digest is written) or as given. */
export function toReference(ref: Reference | string): Reference {
  return typeof ref === 'string' ? parseReference(ref, { defaultTag: 'latest' }) : ref;
}

/** A repository from text (no tag or digest allowed) or as given. */
export function toRepository(repo: { registry: string; repository: string } | string): { registry: string; repository: string } {
  return typeof repo === 'string' ? parseRepository(repo) : repo;
}

/** The tag or digest a reference names in API paths: the digest wins when both are written. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
