/**
 * A registry that answers with names no real registry should send: tag lists and catalogs
 * whose entries hold newlines, ESC sequences and bidi overrides, and an error whose message
 * does the same. Only what the listing verbs need (`/v2/`, tags/list, _catalog, one manifest
 * that fails with that message); plain http on loopback, no auth.
 */
import http from 'node:http';
import { listenOnFreePort } from './free-port.js';

export interface HostileRegistry {
  /** `127.0.0.1:<port>`, as a registry host for the CLI. */
  host: string;
  stop(): Promise<void>;
}

export async function startHostileRegistry(names: readonly string[], errorMessage: string): Promise<HostileRegistry> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end(JSON.stringify(body));
    };
    if (path === '/v2/') return json(200, {});
    if (path === '/v2/_catalog') return json(200, { repositories: names });
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags) return json(200, { name: tags[1], tags: names });
    if (/^\/v2\/.+\/manifests\//.test(path)) {
      // HEAD answers without a digest, so the client GETs, and the GET carries the message.
      if (req.method === 'HEAD') return void res.writeHead(200).end();
      return json(400, { errors: [{ code: 'MANIFEST_INVALID', message: errorMessage }] });
    }
    return json(404, { errors: [{ code: 'NOT_FOUND', message: 'not here' }] });
  });
  const port = await listenOnFreePort(server);
  return {
    host: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
