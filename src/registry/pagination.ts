/**
 * `Link` header pagination (RFC 8288) for tags/list and _catalog: the `rel="next"` target,
 * resolved against the URL of the request (distribution sends a relative `</v2/_catalog?…>`).
 */

interface LinkValue {
  target: string;
  params: Record<string, string>;
}

/** Parse `<uri>; name=value; name="quoted, value", <uri2>; …` into link values. */
export function parseLinks(value: string): LinkValue[] {
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
