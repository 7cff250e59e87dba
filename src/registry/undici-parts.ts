import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * The parts of undici the transport uses, loaded one by one. undici's index also loads
 * fetch, WebSocket, cookies and caches: about 80 ms of every start-up, measured with
 * --cpu-prof on a re-push (see docs/decisions.md). Tagging scripts call us in loops.
 * The index does exactly this to give dispatchers their request() method.
 */
const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector;
/** Loaded only when a proxy is configured. */
export const loadEnvHttpProxyAgent = (): typeof Undici.EnvHttpProxyAgent =>
  require('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof Undici.EnvHttpProxyAgent;
export type { Dispatcher } from 'undici';
export type Agent = Undici.Agent;
export type Connector = Undici.buildConnector.connector;
