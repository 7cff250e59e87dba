import { isLoopbackRegistry } from '../reference/index.js';
import { discard, readText } from './body.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { isCertificateError, networkError, safeUrl, statusError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { RetryBudget } from './retry.js';
import type { HttpResponse, Transport } from './transport.js';
import { TarpushError } from '../errors.js';

/**
 * `GET /v2/`: finds the scheme (https or http) and the auth challenge of a registry.
 *
 * The scheme rule, like docker's for loopback registries:
 * - `plainHttp` → http:// only.
 * - otherwise https://. For a loopback registry (localhost, 127.0.0.0/8, [::1]) the https
 *   ping is tried once; if it fails without any answer for a reason other than an untrusted
 *   certificate (connection refused or reset, TLS handshake against a plain-HTTP server), the
 *   registry is pinged again over http:// and, if that answers, http:// is used from then on.
 *   A certificate that fails verification is reported, never downgraded (it means a TLS server
 *   is there: pass its CA or --insecure).
 * - Non-loopback registries never fall back to http.
 */

export interface PingResult {
  /** `https://host/` or `http://host/`: the base all API URLs are built on. */
  base: URL;
  status: number;
  challenges: Challenge[];
}

async function pingAt(base: URL, transport: Transport, budget?: RetryBudget): Promise<{ resp: HttpResponse; url: URL }> {
  const url = new URL('/v2/', base);
  const resp = await transport.send({ method: 'GET', url, retry: 'idempotent', what: 'registry ping', ...(budget ? { budget } : {}) });
  return { resp, url };
}

export async function ping(registry: string, transport: Transport, opts: ResolvedOptions): Promise<PingResult> {
  const https = new URL(`https://${registry}/`);
  const http = new URL(`http://${registry}/`);
  let base = opts.plainHttp ? http : https;
  let answered: { resp: HttpResponse; url: URL };
  if (!opts.plainHttp && isLoopbackRegistry(registry)) {
    try {
      // One try: a loopback registry that does not speak TLS fails at once, and waits here would
      // only delay the plain-HTTP ping that follows.
      answered = await pingAt(https, transport, new RetryBudget(opts, { retries: 0 }));
    } catch (err) {
      if (isCertificateError(err) || !(err instanceof TarpushError)) throw err;
      opts.log({ type: 'fallback', what: 'http', reason: `https failed: ${String((err.details as { errno?: string }).errno ?? err.code)}`, url: safeUrl(https) });
      base = http;
      try {
        answered = await pingAt(http, transport);
      } catch (err2) {
        const cause = (err2 as TarpushError).cause ?? err2;
        const errno = (e: TarpushError | unknown) => (e instanceof TarpushError ? (e.details as { errno?: string }).errno : undefined);
        // Refused (or not found) both ways: one reason, said once.
        if (err2 instanceof TarpushError && errno(err2) !== undefined && errno(err2) === errno(err)) {
          throw networkError(cause, 'GET', new URL('/v2/', http), `registry ping ${registry} (https and http)`);
        }
        throw networkError(cause, 'GET', new URL('/v2/', http), `registry ping (https failed too: ${err.message})`);
      }
      const status = answered.resp.status;
      if (!((status >= 200 && status < 300) || status === 401)) {
        // Not a plain-HTTP registry either (a TLS server answers 400 to plain HTTP): the https
        // failure is the one that explains what went wrong.
        await discard(answered.resp);
        throw err;
      }
    }
  } else {
    answered = await pingAt(base, transport);
  }
  const { resp, url } = answered;
  const challenges = parseChallenges(resp.headers['www-authenticate']);
  if ((resp.status >= 200 && resp.status < 300) || resp.status === 401) {
    await discard(resp);
    return { base, status: resp.status, challenges };
  }
  const body = await readText(resp, 4096);
  const err = statusError({ what: `registry ping ${registry}`, method: 'GET', url, status: resp.status, body });
  if (resp.status === 404) {
    throw new TarpushError('REGISTRY_ERROR', `${registry} does not serve the registry API: GET ${safeUrl(url)} answered 404`, err.details);
  }
  throw err;
}
