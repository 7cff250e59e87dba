/**
 * Classifies a registry API request path (`/v2/<name>/blobs/…`), for proxy rules that must
 * recognise blob reads, upload sessions and manifest writes, and to build auth scopes.
 */
export type RegistryEndpoint =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload-start'; name: string } // POST /v2/<name>/blobs/uploads/
  | { kind: 'upload-session'; name: string; session: string } // …/blobs/uploads/<uuid>
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'other' };

export function classifyPath(pathname: string): RegistryEndpoint {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'base' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  let m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(pathname);
  if (m) return { kind: 'upload-start', name: m[1]! };
  m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'upload-session', name: m[1]!, session: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'manifest', name: m[1]!, reference: m[2]! };
  m = /^\/v2\/(.+)\/tags\/list$/.exec(pathname);
  if (m) return { kind: 'tags', name: m[1]! };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'referrers', name: m[1]!, digest: m[2]! };
  return { kind: 'other' };
}

/** The token scope a request to `pathname` with `method` needs (undefined for /v2/). */
export function scopeFor(method: string, pathname: string): string | undefined {
  const endpoint = classifyPath(pathname);
  switch (endpoint.kind) {
    case 'base':
    case 'other':
      return undefined;
    case 'catalog':
      return 'registry:catalog:*';
    default: {
      const m = method.toUpperCase();
      const actions = m === 'DELETE' ? 'delete' : m === 'GET' || m === 'HEAD' ? 'pull' : 'pull,push';
      return `repository:${endpoint.name}:${actions}`;
    }
  }
}
