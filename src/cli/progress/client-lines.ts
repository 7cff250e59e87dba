import type { ClientEvent } from '../../registry/options.js';
import { formatBytes } from '../../util/format-bytes.js';

/**
 * The line a registry client event gets on stderr, or undefined for none. Always: every retry
 * and every fallback (a loopback registry answering plain HTTP is the documented rule, not
 * news). With --verbose also each request (method, URL without query or credentials, status,
 * time), redirect, token and upload path. Client events carry no secrets (see ClientEvent);
 * the caller escapes the line before printing it.
 */
export function clientEventLine(e: ClientEvent, verbose: boolean): string | undefined {
  switch (e.type) {
    case 'retry':
      return `retry ${e.attempt}/${e.of} after ${e.reason}: ${e.method} ${e.url}`;
    case 'fallback':
      return e.what === 'http' && !verbose ? undefined : `fallback ${e.what}: ${e.reason}${e.url ? ` (${e.url})` : ''}`;
    default:
      return verbose ? verboseLine(e) : undefined;
  }
}

/**
 * A writer of client lines for one command: a fallback that several transfers found at once
 * (four uploads learning together that the registry ignores a single POST) is told once,
 * unless --verbose asks for every event.
 */
export function clientLines(verbose: boolean, say: (line: string) => void): (e: ClientEvent) => void {
  const told = new Set<string>();
  return (e) => {
    const line = clientEventLine(e, verbose);
    if (line === undefined) return;
    if (e.type === 'fallback' && !verbose) {
      if (told.has(line)) return;
      told.add(line);
    }
    say(line);
  };
}

function verboseLine(e: ClientEvent): string | undefined {
  switch (e.type) {
    case 'request':
      return `${e.method} ${e.url} ${e.status} ${e.ms} ms`;
    case 'redirect':
      return `redirect ${e.method} ${e.from} → ${e.to}${e.droppedAuthorization ? ' (credentials not sent on)' : ''}`;
    case 'token':
      return `token ${e.method} ${e.realm} scope ${e.scopes.join(' ') || '(none)'} (expires in ${e.expiresIn}s)`;
    case 'auth':
      return `auth ${e.scheme}${e.credential ? ` with the credential from ${e.credential}` : ''}${e.scopes?.length ? ` for ${e.scopes.join(' ')}` : ''}`;
    case 'upload':
      return `upload ${e.digest} by ${e.path}${e.bytes ? ` (${formatBytes(e.bytes)})` : ''}`;
    case 'resume':
      return `resume ${e.digest} at ${formatBytes(e.offset)} (${e.reason})`;
    default:
      return undefined;
  }
}
