import { TarpushError } from '../errors.js';
import { safeUrl } from './errors.js';
import { checkHandedUrl } from './url-policy.js';

/**
 * Upload and pagination URLs handed to us by the registry. A `Location` may be absolute,
 * host-relative (`/v2/…`) or path-relative, and may already carry a query (distribution's
 * `_state`, ACR's own parameters): it is resolved against the URL of the request that
 * returned it, and our parameters are appended to whatever query it has.
 */

/** Resolve a Location header value against the URL of the request that returned it. */
export function resolveLocation(requestUrl: URL, location: string | undefined, what: string): URL {
  if (location === undefined || location.trim() === '') {
    throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(requestUrl)} answered without a Location header`, {
      url: safeUrl(requestUrl),
    });
  }
  let url: URL;
  try {
    url = new URL(location.trim(), requestUrl);
  } catch {
    throw new TarpushError('REGISTRY_ERROR', `${what}: ${safeUrl(requestUrl)} answered with an invalid Location`, {
      url: safeUrl(requestUrl),
    });
  }
  return checkHandedUrl(url, `${what}: the Location ${safeUrl(requestUrl)} answered`, requestUrl.hostname);
}

/**
 * A copy of `url` with `params` appended to its query (`?` or `&` as needed). Existing
 * parameters are kept byte for byte, so opaque state tokens survive untouched.
 */
export function withQuery(url: URL, params: Record<string, string | undefined>): URL {
  const out = new URL(url.href);
  const added = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  if (added === '') return out;
  const existing = out.search.replace(/^\?/, '');
  out.search = existing === '' ? `?${added}` : `?${existing}&${added}`;
  return out;
}
