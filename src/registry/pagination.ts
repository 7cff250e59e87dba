import { TarpushError } from '../errors.js';
import { readJson } from './body.js';
import type { RegistryClient } from './client.js';
import { safeUrl } from './errors.js';
import { withReadRetries } from './read-retry.js';
import { checkHandedUrl } from './url-policy.js';

/**
 * `Link` header pagination (RFC 8288) for tags/list and _catalog: the `rel="next"` target,
 * resolved against the URL of the request (distribution sends a relative `</v2/_catalog?…>`).
 */

interface LinkValue {
  target: string;
  params: Record<string, string>;
}

/** Parse `<uri>; name=value; name="quoted, value", <uri2>; …` into link values. */
function parseLinks(value: string): LinkValue[] {
  const out: LinkValue[] = [];
  let pos = 0;
  while (pos < value.length) {
    const open = value.indexOf('<', pos);
    if (open < 0) break;
    const close = value.indexOf('>', open + 1);
    if (close < 0) break;
    const link: LinkValue = { target: value.slice(open + 1, close), params: {} };
    out.push(link);
    pos = close + 1;
    // parameters until a comma outside quotes
    while (pos < value.length) {
      while (pos < value.length && /\s/.test(value[pos]!)) pos++;
      if (value[pos] !== ';') break;
      pos++;
      const nameMatch = /^\s*([^=;,\s]+)\s*/.exec(value.slice(pos));
      if (!nameMatch) break;
      pos += nameMatch[0].length;
      let v = '';
      if (value[pos] === '=') {
        pos++;
        while (value[pos] === ' ') pos++;
        if (value[pos] === '"') {
          const end = value.indexOf('"', pos + 1);
          v = value.slice(pos + 1, end < 0 ? value.length : end);
          pos = end < 0 ? value.length : end + 1;
        } else {
          const m = /^[^;,\s]*/.exec(value.slice(pos))!;
          v = m[0];
          pos += v.length;
        }
      }
      link.params[nameMatch[1]!.toLowerCase()] = v;
    }
    while (pos < value.length && value[pos] !== ',' && value[pos] !== '<') pos++;
  }
  return out;
}

/** The `rel="next"` URL of a Link header, resolved against `requestUrl`, or undefined. */
export function nextLink(link: string | readonly string[] | undefined, requestUrl: URL): URL | undefined {
  if (link === undefined) return undefined;
  const values = typeof link === 'string' ? [link] : link;
  for (const value of values) {
    for (const l of parseLinks(value)) {
      const rels = (l.params.rel ?? '').toLowerCase().split(/\s+/);
      if (!rels.includes('next')) continue;
      try {
        return new URL(l.target, requestUrl);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Most pages one listing follows: an endless `Link: next` chain ends here. */
export const MAX_PAGES = 1000;
/** Most names one listing yields. */
const MAX_ITEMS = 100_000;

export interface PagedList {
  client: RegistryClient;
  first: URL;
  scopes: readonly string[];
  /** For messages: `tags of reg/app`. */
  what: string;
  /** The JSON field holding the page's names (`tags`, `repositories`). */
  field: string;
  /** Largest page body accepted. */
  maxBytes: number;
}

/**
 * The names of a paginated listing, page by page (`null` counts as empty). Each page is one
 * bounded read with its deadline; a chain that loops, or runs past MAX_PAGES pages or
 * MAX_ITEMS names, is a REGISTRY_ERROR. Names are yielded as the registry sent them: they
 * are data for library callers, and the CLI escapes what it prints.
 */
export async function* followPages(list: PagedList): AsyncGenerator<string> {
  const { client, what, field } = list;
  let url: URL | undefined = list.first;
  const seen = new Set<string>();
  let items = 0;
  for (let pages = 0; url; pages++) {
    if (seen.has(url.href)) {
      throw new TarpushError('REGISTRY_ERROR', `${what}: pagination loops back to ${safeUrl(url)}`, { url: safeUrl(url) });
    }
    if (pages >= MAX_PAGES) {
      throw new TarpushError('REGISTRY_ERROR', `${what}: more than ${MAX_PAGES} pages (Link: next keeps going); stopped`, { url: safeUrl(url) });
    }
    seen.add(url.href);
    const page: URL = url;
    const { body, next, answered } = await withReadRetries(client, what, async (budget) => {
      const resp = await client.request({ method: 'GET', url: page, scopes: list.scopes, what, budget });
      if (resp.status !== 200) throw await client.failure(resp, what, 'GET');
      const next = nextLink(resp.headers.link, resp.url);
      return { body: await readJson<Record<string, unknown>>(resp, list.maxBytes, what), next, answered: resp.url };
    });
    const names = body?.[field] ?? [];
    if (!Array.isArray(names)) throw new TarpushError('REGISTRY_ERROR', `${what}: "${field}" is not a list`, { url: safeUrl(answered) });
    for (const n of names) {
      if (typeof n !== 'string') continue;
      if (++items > MAX_ITEMS) {
        throw new TarpushError('REGISTRY_ERROR', `${what}: more than ${MAX_ITEMS} names; stopped`, { url: safeUrl(answered) });
      }
      yield n;
    }
    url = next && checkHandedUrl(next, `${what}: the next page ${safeUrl(answered)} named`, answered.hostname);
  }
}
