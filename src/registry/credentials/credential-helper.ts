import { execFile } from 'node:child_process';
import { TarpushError } from '../../errors.js';
import { snippet } from '../../util/printable.js';
import type { Credential } from './types.js';

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 1024 * 1024;

export interface HelperOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  debug: (message: string) => void;
  /** Told the program name of a helper that is not installed (the search goes on without it). */
  onMissing?: (program: string) => void;
}

/**
 * Ask `docker-credential-<name> get` for the credential of `serverUrl` (docker's credential
 * helper protocol: server URL on stdin, `{ServerURL, Username, Secret}` JSON on stdout).
 * Run with execFile, never a shell. `undefined` when the helper has nothing for this server
 * or is not installed (so the search goes on); CREDENTIALS_INVALID naming the helper when
 * it fails, times out or answers garbage. Messages carry neither its stdout nor a secret.
 */
export function runCredentialHelper(name: string, serverUrl: string, opts: HelperOptions): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const source = `credential helper ${program}`;
  const fail = (what: string) => new TarpushError('CREDENTIALS_INVALID', `${source} ${what} (for ${serverUrl})`);

  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      ['get'],
      { env: opts.env, timeout: opts.timeoutMs, maxBuffer: MAX_OUTPUT, windowsHide: true, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number | null };
          if (e.code === 'ENOENT') {
            opts.debug(`${program} not found on PATH; skipping it`);
            opts.onMissing?.(program);
            return resolve(undefined);
          }
          if (e.code === 'EACCES') return reject(fail('cannot be run (permission denied)'));
          if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(fail(`wrote more than ${MAX_OUTPUT} bytes`));
          if (e.killed && e.signal) return reject(fail(`did not answer within ${Math.round(opts.timeoutMs / 1000)} s`));
          // The helpers' library reports "credentials not found in native keychain" with exit 1.
          if (/credentials not found/i.test(stdout) || /credentials not found/i.test(stderr)) return resolve(undefined);
          const why = firstLine(stderr);
          const status = typeof e.code === 'number' ? `exited with status ${e.code}` : `failed (${e.signal ?? e.code ?? 'error'})`;
          return reject(fail(`${status}${why ? `: ${why}` : ''}`));
        }
        let answer: unknown;
        try {
          answer = JSON.parse(stdout);
        } catch {
          return reject(fail('answered with something that is not JSON'));
        }
        if (typeof answer !== 'object' || answer === null) return reject(fail('answered with JSON that is not an object'));
        const { Username, Secret } = answer as Record<string, unknown>;
        if ((Username !== undefined && typeof Username !== 'string') || (Secret !== undefined && typeof Secret !== 'string')) {
          return reject(fail('answered with a non-string Username or Secret'));
        }
        if (!Secret) return resolve(undefined);
        // Docker's convention: user name "<token>" means the secret is an identity (refresh) token.
        if (Username === '<token>') return resolve({ kind: 'refresh-token', token: Secret, source });
        if (!Username) return reject(fail('answered with a secret but no user name'));
        resolve({ kind: 'basic', username: Username, password: Secret, source });
      },
    );
    // A helper may exit without reading stdin; the resulting EPIPE is not our failure.
    child.stdin?.on('error', () => {});
    child.stdin?.end(serverUrl);
  });
}

/** First line of a helper's stderr, shortened and escaped: enough to act on, not a dump. */
function firstLine(text: string): string {
  return snippet(text.trim().split(/\r?\n/, 1)[0] ?? '', 200);
}
