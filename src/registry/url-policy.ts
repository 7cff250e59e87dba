import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { TarpushError } from '../errors.js';
import { isLoopbackRegistry } from '../reference/index.js';
import { safeUrl } from './errors.js';

/**
 * Where a registry may send us, and what may travel there: the two rules every URL a
 * registry hands out (redirects, upload Locations, token realms, next pages) is checked
 * against, in one place.
 *
 *  - Credentials (Basic, a password or refresh token for a token server, a token obtained
 *    with them) travel only over https, or to a loopback host (which never leaves the machine).
 *  - A registry cannot point us at link-local or cloud metadata addresses (169.254.0.0/16 —
 *    169.254.169.254 is the metadata service of most clouds —, fe80::/10, their IPv4-mapped
 *    IPv6 forms, AWS's fd00:ec2::254, metadata.google.internal): a request there from a CI
 *    runner can read the runner's cloud credentials. Only host literals are checked; the
 *    host the user named themselves is never refused.
 */

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');
linkLocal.addAddress('fd00:ec2::254', 'ipv6');
linkLocal.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud's metadata service

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address (`::ffff:a.b.c.d`, `::ffff:a9fe:a9fe`), if any. */
function embeddedIPv4(v6: string): string | undefined {
  // The URL parser writes every IPv6 address one way: `::ffff:a9fe:a9fe`, zeros compressed.
  const compact = new URL(`http://[${v6}]/`).hostname.slice(1, -1);
  const hex = /^::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(compact);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether a host name or address literal (IPv6 with or without brackets) is link-local or a metadata service. */
export function isLinkLocalOrMetadata(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (METADATA_NAMES.has(host)) return true;
  if (isIPv4(host)) return linkLocal.check(host, 'ipv4');
  if (isIPv6(host)) {
    const v4 = embeddedIPv4(host);
    if (v4 !== undefined && isIPv4(v4)) return linkLocal.check(v4, 'ipv4');
    return linkLocal.check(host, 'ipv6');
  }
  return false;
}

/** Whether credentials may be sent to `url`: https, or plain http to a loopback host. */
export function mayCarryCredentials(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackRegistry(url.host));
}

/**
 * Check a URL a server handed us (`what` says which: a redirect, an upload Location…):
 * REGISTRY_ERROR when it points at a link-local or metadata address other than `trustedHost`
 * (the host the user named, or the one that answered).
 */
export function checkHandedUrl(url: URL, what: string, trustedHost: string): URL {
  if (isLinkLocalOrMetadata(url.hostname) && url.hostname !== trustedHost) {
    throw new TarpushError('REGISTRY_ERROR', `${what} points at a link-local or cloud metadata address (${safeUrl(url)}); refused`, {
      url: safeUrl(url),
    });
  }
  return url;
}

/** REGISTRY_ERROR when credentials would go to `url` in clear. */
export function checkCredentialChannel(url: URL, what: string): void {
  if (!mayCarryCredentials(url)) {
    throw new TarpushError(
      'REGISTRY_ERROR',
      `${what}: credentials would go over plain http to ${safeUrl(url)}; refused (only https, or http to this machine)`,
      { url: safeUrl(url) },
    );
  }
}
