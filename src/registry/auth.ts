import { TarpushError } from '../errors.js';
import { type Challenge, challengeScopes, pickChallenge } from './challenge.js';
import { lookUpCredential, type Credential } from './credentials/index.js';
import { credentialSecrets, loginHint, type AuthContext } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { normaliseScopes, parseScope, pushScope } from './scope.js';
import { TokenCache, TokenFetcher, type Token, type TokenEndpoint } from './token.js';
import type { Transport } from './transport.js';

/**
 * Per-registry auth state: which scheme the registry asked for (learned from the ping or
 * any 401), which credential we hold (looked up once, lazily), and bearer tokens per scope
 * set. Hands out the Authorization value for a request to the registry origin; the caller
 * never sends it anywhere else (the transport drops it on cross-origin redirects).
 */

type Scheme = 'unknown' | 'none' | 'basic' | 'bearer';

/** What was sent with one request: enough to react to its 401 and to word an error. */
export interface Authorization {
  header?: string;
  token?: Token;
  context: AuthContext;
}

export class Authenticator {
  private scheme: Scheme = 'unknown';
  private endpoint: TokenEndpoint | undefined;
  private credential: Promise<Credential | undefined> | undefined;
  /** Helpers the credential search skipped (not installed): a 401 says so. */
  private missingHelpers: string[] = [];
  private readonly tokens = new TokenCache();
  private readonly fetcher: TokenFetcher;
  private announced = false;
  /** Repositories this client will push to: their pull scopes are asked for with push. */
  private readonly pushing = new Set<string>();
  /** Every secret this client holds or was handed (passwords, Basic values, tokens), to redact from quoted server text. */
  readonly secrets = new Set<string>();

  constructor(
    private readonly registry: string,
    transport: Transport,
    private readonly opts: ResolvedOptions,
  ) {
    this.fetcher = new TokenFetcher(transport, opts, registry);
  }

  /** Learn the scheme from an answer: 2xx without challenge → none; a 401's challenges → basic/bearer. */
  learn(status: number, challenges: readonly Challenge[]): void {
    if (status === 401) {
      const c = pickChallenge(challenges);
      if (c?.scheme === 'bearer' && c.params.realm) {
        this.scheme = 'bearer';
        this.endpoint = { realm: c.params.realm, ...(c.params.service !== undefined ? { service: c.params.service } : {}) };
      } else if (c?.scheme === 'basic') {
        this.scheme = 'basic';
      }
    } else if (status >= 200 && status < 300 && this.scheme === 'unknown') {
      this.scheme = 'none';
    }
  }

  private getCredential(): Promise<Credential | undefined> {
    this.credential ??= lookUpCredential(this.registry, this.opts.credentials).then(({ credential: c, missingHelpers }) => {
      this.missingHelpers = missingHelpers;
      if (c) for (const s of credentialSecrets(c)) this.secrets.add(s);
      return c;
    });
    return this.credential;
  }

  private announce(scheme: 'basic' | 'bearer' | 'none', credential: Credential | undefined, scopes?: string[]): void {
    if (this.announced) return;
    this.announced = true;
    this.opts.log({ type: 'auth', scheme, ...(credential ? { credential: credential.source } : {}), ...(scopes ? { scopes } : {}) });
  }

  /**
   * Say that `repository` will be pushed to. The reads before the first write (blob HEADs,
   * the manifest GET of `tag`) then get a pull,push token, and the write reuses it: one token
   * fetch instead of a pull token and then a pull,push one.
   */
  willPush(repository: string): void {
    this.pushing.add(repository);
  }

  /** `scopes` plus pull,push for each repository among them that will be pushed to (merged by normaliseScopes). */
  private widen(scopes: readonly string[]): string[] {
    if (this.pushing.size === 0) return [...scopes];
    const extra = scopes.map(parseScope).filter((s) => s?.type === 'repository' && this.pushing.has(s.name));
    return [...scopes, ...extra.map((s) => pushScope(s!.name))];
  }

  /** The Authorization header for a registry request needing `scopes`. */
  async authorize(scopes: readonly string[]): Promise<Authorization> {
    const wanted = normaliseScopes(this.widen(scopes));
    if (this.scheme === 'unknown' || this.scheme === 'none') {
      return { context: { sent: 'none', withCredential: false, scopes: wanted } };
    }
    const credential = await this.getCredential();
    if (credential?.kind === 'bearer') {
      this.announce('bearer', credential);
      return { header: `Bearer ${credential.token}`, context: { sent: 'bearer', withCredential: true, scopes: wanted, source: credential.source } };
    }
    if (this.scheme === 'basic') {
      if (!credential) {
        throw new TarpushError('AUTH_REQUIRED', `${this.registry} requires a login (Basic auth) and no credential was found${loginHint(this.registry, this.missingHelpers)}`, {
          registry: this.registry,
        });
      }
      this.announce('basic', credential);
      const user = credential.kind === 'basic' ? credential.username : credential.username ?? '<token>';
      const secret = credential.kind === 'basic' ? credential.password : credential.token;
      const basic = Buffer.from(`${user}:${secret}`).toString('base64');
      this.secrets.add(basic);
      return {
        header: `Basic ${basic}`,
        context: { sent: 'basic', withCredential: true, scopes: wanted, source: credential.source },
      };
    }
    const endpoint = this.endpoint!;
    const token = await this.tokens.obtain(endpoint, wanted, async () => {
      const t = await this.fetcher.fetch(endpoint, wanted, credential, this.missingHelpers);
      this.secrets.add(t.value);
      return t;
    });
    this.announce('bearer', credential, wanted);
    const from = credential ? { source: credential.source } : { missingHelpers: this.missingHelpers };
    return { header: `Bearer ${token.value}`, token, context: { sent: 'bearer', withCredential: credential !== undefined, scopes: wanted, ...from } };
  }

  /**
   * React to a 401 from the registry: learn its challenge and forget the tokens. Returns
   * the scopes to ask for on the one retry (ours plus what the challenge names).
   */
  unauthorized(challenges: readonly Challenge[], used: Authorization, scopes: readonly string[]): string[] {
    this.learn(401, challenges);
    // A refused token usually means every token issued with it is stale too (expiry, key
    // rotation): start afresh rather than retrying with a sibling of the refused one.
    if (used.token) this.tokens.clear();
    const c = pickChallenge(challenges);
    const fromChallenge = c?.scheme === 'bearer' ? challengeScopes(c) : [];
    return normaliseScopes([...scopes, ...fromChallenge]);
  }
}
