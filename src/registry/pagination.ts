/**
 * `Link` header pagination (RFC 8288) for tags/list and _catalog: the `rel="next"` target,
 * resolved against the URL of the request (distribution sends a relative `</v2/_catalog?…>`).
 */

/** The `rel="next"` URL of a Link header, resolved against `requestUrl`, or undefined. */
export function nextLink(link: string | readonly string[] | undefined, requestUrl: URL): URL | undefined {
  if (link === undefined) return undefined;
  const values = typeof link === 'string' ? [link] : link;
  for (const value of values) {
    // Each link-value: <uri-reference> *( ";" link-param ); values separated by commas outside <>.
    const re = /<([^>]*)>((?:\s*;\s*[^;,]*(?:"[^"]*")?[^;,]*)*)/g;
    for (let m = re.exec(value); m; m = re.exec(value)) {
      const params = m[2] ?? '';
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
      if (!rels.includes('next')) continue;
      try {
        return new URL(m[1]!, requestUrl);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
