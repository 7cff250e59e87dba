/** Types of the fault-injecting proxy (see proxy.ts for what each rule does). */

export type FaultRule = {
  match?: { method?: string; path?: RegExp };
  /** How many matching requests the rule acts on; default unlimited. */
  times?: number;
} & (
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'reset-after'; bytes: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'accepted-not-created' }
  | { kind: 'single-post' }
  | { kind: 'no-single-post' }
  | { kind: 'no-chunked' }
  | { kind: 'min-chunk'; bytes: number }
  | { kind: 'max-body'; bytes: number; status?: number }
  | { kind: 'expire-token' }
  | { kind: 'redirect-blobs'; to: string }
);

export interface RecordedRequest {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  /** Headers as received (lower-case names), including Authorization: kept in memory only. */
  headers: Record<string, string | string[] | undefined>;
  origin: 'proxy' | 'redirect-target';
  /** Status answered to the client; undefined while in flight or when the connection was cut first. */
  status?: number;
  /** Request body bytes received from the client. */
  bodyBytes: number;
}

export interface FaultProxyHandle {
  url: string;
  host: string;
  requests: RecordedRequest[];
  /** Replaces the rules (counters start again; expire-token rules are armed now). */
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}
