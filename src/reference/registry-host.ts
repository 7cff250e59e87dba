import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { TarpushError } from '../errors.js';

/**
 * Registry hosts: validation, Docker Hub aliases, loopback detection and the keys under
 * which docker/podman store credentials for a host.
 */

/** The host Docker Hub's registry API answers on. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
/** The key `docker login` (no argument) writes into config.json for Docker Hub. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

/** Names people write for Docker Hub; all mean the same registry. */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

// One DNS label: letters, digits, inner hyphens (upper case accepted, normalised below).
const DOMAIN_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;

function invalid(input: string, what: string): TarpushError {
  return new TarpushError('REFERENCE_INVALID', `invalid registry ${JSON.stringify(input)}: ${what}`);
}

/**
 * Validate `host[:port]` (DNS name, IPv4 or bracketed IPv6) and return it normalised:
 * host names are case-insensitive, so they are lower-cased; Docker Hub aliases map to
 * `registry-1.docker.io`. `context` is the text quoted in error messages.
 */
export function normaliseRegistryHost(hostPort: string, context: string = hostPort): string {
  if (hostPort === '') throw invalid(context, 'empty host');
  let host: string;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw invalid(context, 'IPv6 address is missing its closing "]"');
    host = hostPort.slice(0, close + 1);
    const rest = hostPort.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw invalid(context, `unexpected ${JSON.stringify(rest)} after the IPv6 address`);
      port = rest.slice(1);
    }
    if (!isIPv6(host.slice(1, -1))) throw invalid(context, `${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colons = hostPort.split(':').length - 1;
    if (colons > 1) throw invalid(context, 'an IPv6 address must be written in brackets, e.g. [::1]:5000');
    const colon = hostPort.indexOf(':');
    host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    port = colon < 0 ? undefined : hostPort.slice(colon + 1);
    if (host === '') throw invalid(context, 'empty host name before the port');
    if (!isIPv4(host)) {
      const labels = host.split('.');
      for (const label of labels) {
        if (label === '') throw invalid(context, `host name ${JSON.stringify(host)} has an empty label`);
        if (!DOMAIN_LABEL.test(label)) {
          throw invalid(context, `host name label ${JSON.stringify(label)} may only hold letters, digits and inner hyphens`);
        }
      }
    }
  }
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw invalid(context, `port ${JSON.stringify(port)} is not a number between 1 and 65535`);
    }
  }
  const lowered = host.toLowerCase();
  if (port === undefined && DOCKER_HUB_ALIASES.has(lowered)) return DOCKER_HUB_REGISTRY;
  return port === undefined ? lowered : `${lowered}:${port}`;
}

/**
 * Parse a registry as a user names it (`docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`)
 * into the host used for API calls. Like `docker login`, a URL form is accepted too:
 * `https://index.docker.io/v1/`, `https://quay.io`, `http://localhost:5000/v2/`.
 */
export function parseRegistry(s: string): string {
  let hostPort = s;
  const scheme = /^https?:\/\//i.exec(hostPort);
  if (scheme) {
    hostPort = hostPort.slice(scheme[0].length);
    const slash = hostPort.indexOf('/');
    if (slash >= 0) {
      const path = hostPort.slice(slash);
      if (!/^\/(?:v[12]\/?)?$/.test(path)) throw invalid(s, `unexpected path ${JSON.stringify(path)} after the host`);
      hostPort = hostPort.slice(0, slash);
    }
  } else if (hostPort.includes('/')) {
    throw invalid(s, 'a registry is a host[:port] without a repository path');
  }
  return normaliseRegistryHost(hostPort, s);
}

/** True when `registry` (any alias) is Docker Hub. */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase());
}

// Loopback addresses docker talks plain HTTP to without an "insecure-registries" entry.
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The host part of `host[:port]` / `[v6]:port`, brackets removed. */
function hostOf(registry: string): string {
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']');
    return close < 0 ? registry : registry.slice(1, close);
  }
  const colon = registry.indexOf(':');
  return colon < 0 ? registry : registry.slice(0, colon);
}

/**
 * True for `localhost[:port]`, `127.0.0.0/8[:port]` and `[::1][:port]`: registries docker
 * reaches over plain HTTP when HTTPS fails. Invalid input is simply not loopback.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry).toLowerCase();
  if (host === 'localhost') return true;
  if (isIPv4(host)) return loopback.check(host, 'ipv4');
  if (isIPv6(host)) return loopback.check(host, 'ipv6');
  return false;
}

/**
 * Keys to try, best first, when looking a registry up in a docker `config.json` or a
 * containers `auth.json` (`auths` and `credHelpers`). Docker Hub is stored under
 * `https://index.docker.io/v1/` by docker and `docker.io` by podman.
 */
export function dockerConfigKeys(registry: string): string[] {
  const host = parseRegistry(registry);
  if (host === DOCKER_HUB_REGISTRY) {
    return [DOCKER_HUB_CONFIG_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
}
