import type { TarpushError } from '../errors.js';
import { parseRegistry } from '../reference/index.js';
import { Authenticator, type Authorization } from './auth.js';
import { discard, readText } from './body.js';
import { listCatalog } from './catalog.js';
import { parseChallenges } from './challenge.js';
import { statusError, type AuthContext } from './errors.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { ping } from './ping.js';
import { Repository } from './repository.js';
import { Transport, type HttpRequest, type HttpResponse } from './transport.js';
import { checkCredentialChannel } from './url-policy.js';

/**
 * One client per registry host: one transport (keep-alive pools), one auth state and token
 * cache, shared by every repository of that registry. All registry API calls go through
 * `request`, which pings once (scheme and challenge), adds the Authorization header for the
 * registry origin only, and re-authenticates once on a 401.
 */

export interface RegistryRequest extends Omit<HttpRequest, 'url'> {
  /** Path on the registry (`/v2/…`), or a full URL handed out by the registry (Location). */
  path?: string;
  url?: URL;
  /** Token scopes the request needs. */
  scopes: readonly string[];
  /** Whether a 401 leads to a fresh token and one more try (default true). */
  reauthenticate?: boolean;
}

export interface RegistryResponse extends HttpResponse {
  /** How the final attempt was authenticated (for error wording). */
  auth: AuthContext;
}

/** What a client learned about the registry's upload support while working. */
export interface RegistryFeatures {
  /** false once a single POST with a body was answered 202 (body ignored). */
  singlePost?: boolean;
  /** true once a streamed PATCH worked; false once one was refused as unsupported. */
  patch?: boolean;
  /** Largest request body that got through after a refusal (413/416), when one happened. */
  maxBody?: number;
}

export class RegistryClient {
  /** Registry host as used for API calls (`registry-1.docker.io` for Docker Hub). */
  readonly registry: string;
  readonly options: ResolvedOptions;
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly features: RegistryFeatures = {};
  private base: Promise<URL> | undefined;
  private closed = false;
  /** Called once when the client closes (the clientFor cache forgets it). */
  onClose: (() => void) | undefined;

  constructor(registry: string, opts: ClientOptions = {}) {
    this.registry = parseRegistry(registry);
    this.options = resolveOptions(opts);
    this.transport = new Transport(this.registry, this.options);
    this.auth = new Authenticator(this.registry, this.transport, this.options);
  }

  /**
   * A repository of this registry (`team/app`). `push`: this client will write to it, so its
   * first token is asked with push too and serves every request (see Authenticator.willPush).
   */
  repository(name: string, opts: { push?: boolean } = {}): Repository {
    const repo = new Repository(this, name);
    if (opts.push) this.auth.willPush(repo.repository);
    return repo;
  }

  /** Check that the registry answers the v2 API (and learn its scheme and auth). */
  async ping(): Promise<void> {
    await this.baseUrl();
  }

  /** Repository names, following Link pagination. */
  catalog(opts: { n?: number; last?: string } = {}): AsyncIterable<string> {
    return listCatalog(this, opts);
  }

  /** `https://host/` (or http for plain-HTTP registries), after the one ping. */
  baseUrl(): Promise<URL> {
    if (this.closed) return Promise.reject(new Error(`registry client for ${this.registry} is closed`));
    this.base ??= ping(this.registry, this.transport, this.options).then(
      (p) => {
        this.auth.learn(p.status, p.challenges);
        return p.base;
      },
      (err: unknown) => {
        this.base = undefined; // a later call may try again
        throw err;
      },
    );
    return this.base;
  }

  /**
   * Send an API request. Answers of every status are returned for the caller to map, except
   * that one 401 leads to a fresh token (or the newly learned scheme) and one more try.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const base = await this.baseUrl();
    const url = req.url ?? new URL(req.path ?? '/v2/', base);
    const toRegistry = url.origin === base.origin;
    let scopes = req.scopes;
    for (let round = 0; ; round++) {
      const authz: Authorization = toRegistry
        ? await this.auth.authorize(scopes)
        : { context: { sent: 'none', withCredential: false, scopes } };
      if (authz.header && authz.context.withCredential) checkCredentialChannel(url, req.what);
      const headers = { ...req.headers, ...(authz.header ? { authorization: authz.header } : {}) };
      const resp = await this.transport.send({ ...req, url, headers });
      if (resp.status === 401 && round === 0 && toRegistry && !resp.crossedOrigin && req.reauthenticate !== false) {
        const challenges = parseChallenges(resp.headers['www-authenticate']);
        if (challenges.length > 0) {
          await discard(resp);
          scopes = this.auth.unauthorized(challenges, authz, scopes);
          continue;
        }
      }
      return Object.assign(resp, { auth: authz.context });
    }
  }

  /** The TarpushError for an answer we cannot use (reads a bounded part of its body). */
  async failure(resp: RegistryResponse, what: string, method: string): Promise<TarpushError> {
    return this.failureWithBody(resp, await readText(resp, 16 << 10), what, method);
  }

  /**
   * The same for an answer whose (bounded) body was already read. `elsewhere`: the answer
   * came from a host other than the registry (an upload Location), so its text is foreign.
   */
  failureWithBody(resp: RegistryResponse, body: string, what: string, method: string, elsewhere = false): TarpushError {
    const challenge = parseChallenges(resp.headers['www-authenticate']).find((c) => c.params.error);
    return statusError({
      what,
      method,
      url: resp.url,
      status: resp.status,
      body,
      auth: resp.auth,
      secrets: this.auth.secrets,
      foreign: resp.crossedOrigin || elsewhere,
      ...(challenge?.params.error ? { authError: challenge.params.error } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    await this.transport.close();
  }
}

// clientFor: one client per registry and options object within the process.
const clientsByOptions = new WeakMap<ClientOptions, Map<string, RegistryClient>>();
const clientsWithoutOptions = new Map<string, RegistryClient>();
const sharedClients = new Set<RegistryClient>();

/**
 * The shared client for a registry. Clients are cached per registry and per options object
 * (by identity: pass the same object to share pools and tokens across calls).
 */
export function clientFor(registry: string, opts?: ClientOptions): RegistryClient {
  const host = parseRegistry(registry);
  let map = clientsWithoutOptions;
  if (opts) {
    map = clientsByOptions.get(opts) ?? new Map<string, RegistryClient>();
    clientsByOptions.set(opts, map);
  }
  let client = map.get(host);
  if (!client) {
    const created = new RegistryClient(host, opts);
    created.onClose = () => {
      if (map.get(host) === created) map.delete(host);
      sharedClients.delete(created);
    };
    sharedClients.add(created);
    map.set(host, created);
    client = created;
  }
  return client;
}

/**
 * Close every client `clientFor` handed out. For library callers (exported from src/index.ts):
 * `publish` opens its registry clients through `clientFor` (places/open-sink.ts,
 * places/open-source.ts) and leaves them open for the next push, so a long-lived process
 * calls this when it is done. The CLI does not: bin/tarpush.js exits right after its one
 * command, idle sockets and all.
 */
export async function closeSharedClients(): Promise<void> {
  await Promise.all([...sharedClients].map((c) => c.close()));
}
