/**
 * A registry as a bench client sees it over one link profile: a fresh loopback registry,
 * behind a WAN proxy unless the profile is loopback. Clients use `host`/`url` (the proxy's
 * when there is one); the bench checks results with `reg.url` directly.
 */
import { startRegistry, type RegistryHandle } from '../../test/support/registry.js';
import type { Sample } from './cells.js';
import { startWanProxy, type WanProfile, type WanProxy } from './wan-proxy.js';

export interface Endpoint {
  reg: RegistryHandle;
  proxy?: WanProxy;
  /** `127.0.0.1:PORT` that clients push to. */
  host: string;
  url: string;
  stop(): Promise<void>;
}

export async function startEndpoint(profile: WanProfile | undefined): Promise<Endpoint> {
  const reg = await startRegistry({ mode: 'anonymous' });
  let proxy: WanProxy | undefined;
  try {
    if (profile) {
      const [hostname, port] = reg.host.split(':');
      proxy = await startWanProxy({ host: hostname!, port: Number(port) }, profile);
    }
  } catch (err) {
    await reg.stop();
    throw err;
  }
  const host = proxy?.host ?? reg.host;
  return {
    reg,
    ...(proxy ? { proxy } : {}),
    host,
    url: `http://${host}`,
    async stop() {
      await proxy?.stop();
      await reg.stop();
    },
  };
}

export async function withEndpoint<T>(profile: WanProfile | undefined, fn: (e: Endpoint) => Promise<T>): Promise<T> {
  const e = await startEndpoint(profile);
  try {
    return await fn(e);
  } finally {
    await e.stop();
  }
}

/** Copies what the proxy counted since its last reset into the sample. */
export function recordTraffic(s: Sample, proxy: WanProxy | undefined): void {
  if (!proxy) return;
  s.requests = { ...proxy.stats.requests };
  s.connections = proxy.stats.connections;
  s.bytesUp = proxy.stats.bytesUp;
}

/** A command line with the ports and temp dirs of this run replaced by placeholders. */
export function placeholders(cmd: string, replace: [string | undefined, string][]): string {
  let out = cmd;
  for (const [from, to] of replace) if (from) out = out.split(from).join(to);
  return out;
}
