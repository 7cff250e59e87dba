/**
 * A front for a plain-HTTP test registry that pages `tags/list` the way the distribution
 * spec allows and registries such as GHCR and Harbor do (distribution 2.8 ignores `n` and
 * `last`): the registry's real list, cut into pages of `n` (default `pageSize`) after
 * `last`, with a `Link: <…>; rel="next"` to the next page (relative or absolute, as chosen).
 * Every other request is passed through unchanged.
 */
import http from 'node:http';
import { listenOnFreePort } from '../support/free-port.js';

export interface PagingFront {
  url: string;
  host: string;
  /** tags/list requests seen, with their query. */
  pages: string[];
  stop(): Promise<void>;
}

export async function startPagingFront(upstream: string, opts: { pageSize: number; absoluteLinks?: boolean }): Promise<PagingFront> {
  const pages: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', upstream);
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (req.method === 'GET' && tags) {
      pages.push(`${url.pathname}${url.search}`);
      void (async () => {
        const full = await fetch(new URL(url.pathname, upstream));
        const body = (await full.json()) as { name: string; tags: string[] | null };
        if (full.status !== 200) {
          res.writeHead(full.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
          return;
        }
        const all = body.tags ?? [];
        const n = Number(url.searchParams.get('n') ?? opts.pageSize);
        const last = url.searchParams.get('last');
        const start = last === null ? 0 : all.indexOf(last) + 1;
        const page = all.slice(start, start + n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (start + n < all.length) {
          const next = `${url.pathname}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}`;
          headers.link = `<${opts.absoluteLinks ? `http://${req.headers.host}${next}` : next}>; rel="next"`;
        }
        res.writeHead(200, headers).end(JSON.stringify({ name: body.name, tags: page }));
      })().catch((err: unknown) => res.destroy(err as Error));
      return;
    }
    const forward = http.request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', (err) => res.destroy(err));
    req.pipe(forward);
  });
  const port = await listenOnFreePort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pages,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
