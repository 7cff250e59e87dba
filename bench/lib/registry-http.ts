/**
 * The few raw registry calls the bench makes itself (with Node's fetch): open an upload,
 * put a manifest, and read back what a pusher left, to check each timed push really
 * produced the image it claims.
 */

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

async function failure(res: Response, what: string): Promise<Error> {
  const body = (await res.text().catch(() => '')).slice(0, 300);
  return new Error(`${what}: HTTP ${res.status} ${body}`);
}

/** POST /v2/<repo>/blobs/uploads/ → the absolute upload URL (Location resolved against the request). */
export async function openUpload(registryUrl: string, repo: string): Promise<string> {
  const url = `${registryUrl}/v2/${repo}/blobs/uploads/`;
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Length': '0' } });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 202 || !location) throw await failure(res, `POST ${url}`);
  return new URL(location, url).href;
}

/** The upload URL with `digest=` appended to whatever query it already carries. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

export async function putManifest(registryUrl: string, repo: string, tag: string, body: string, mediaType: string): Promise<string> {
  const url = `${registryUrl}/v2/${repo}/manifests/${tag}`;
  const res = await fetch(url, { method: 'PUT', headers: { 'Content-Type': mediaType }, body });
  await res.arrayBuffer();
  if (res.status !== 201) throw await failure(res, `PUT ${url}`);
  return res.headers.get('docker-content-digest') ?? '';
}

/** The digest a tag points at, or undefined if the registry does not know the tag. */
export async function manifestDigest(registryUrl: string, repo: string, tag: string): Promise<string | undefined> {
  const url = `${registryUrl}/v2/${repo}/manifests/${tag}`;
  const res = await fetch(url, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw await failure(res, `HEAD ${url}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}

export async function listTags(registryUrl: string, repo: string): Promise<string[]> {
  const url = `${registryUrl}/v2/${repo}/tags/list`;
  const res = await fetch(url);
  if (res.status === 404) {
    await res.arrayBuffer();
    return [];
  }
  if (res.status !== 200) throw await failure(res, `GET ${url}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** The manifest a tag points at, parsed (layers' sizes, to say how many bytes a push produced). */
export async function getManifest(registryUrl: string, repo: string, tag: string): Promise<{ layers?: { size: number; digest: string }[] }> {
  const url = `${registryUrl}/v2/${repo}/manifests/${tag}`;
  const res = await fetch(url, { headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status !== 200) throw await failure(res, `GET ${url}`);
  return (await res.json()) as { layers?: { size: number; digest: string }[] };
}
