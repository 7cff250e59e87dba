/**
 * Starts a real registry (Debian's `docker-registry`, distribution 2.8.2) for one test file:
 * anonymous over plain HTTP, htpasswd over TLS with a throw-away CA, or token auth backed by
 * our token server. Each registry gets a fresh temp dir (config, storage, log) that stop()
 * removes. The process runs under a small `sh` watchdog that kills it when this Node process
 * goes away however it ends, so no registry outlives a test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { htpasswdLine } from './bcrypt.js';
import { makeTestCA } from './certs.js';
import { freePort } from './free-port.js';
import { startTokenServer, type Allowance, type TokenServerHandle } from './token-server.js';

export type { TokenServerHandle } from './token-server.js';

export type RegistryMode = 'anonymous' | 'htpasswd-tls' | 'token';

export interface TestUser {
  username: string;
  password: string;
}

export interface RegistryHandle {
  mode: RegistryMode;
  /** 'http://127.0.0.1:PORT' (anonymous, token) or 'https://127.0.0.1:PORT' (htpasswd-tls). */
  url: string;
  /** '127.0.0.1:PORT', the registry part of an image reference. */
  host: string;
  /** PEM of the CA that signed the registry's certificate (htpasswd-tls only). */
  caFile?: string;
  /**
   * admin: pull, push, delete and the catalog. reader: pull only — in token mode. htpasswd
   * has no ACLs, so in htpasswd-tls mode both users may do everything; in anonymous mode
   * the users exist but nobody is asked for credentials.
   */
  users: { admin: TestUser; reader: TestUser };
  tokenServer?: TokenServerHandle;
  /** The storage root directory (filesystem driver). */
  dataDir: string;
  /** The registry's own log (level warn), for debugging a failing test. */
  logFile: string;
  stop(): Promise<void>;
}

const SERVICE = 'tarpush-test-registry';
const ISSUER = 'tarpush-test-token-issuer';
const START_TIMEOUT_MS = 10_000;

/** Registries started by this process and not yet stopped (pid → temp root): killed on exit. */
const live = new Map<number, string>();
let exitHookInstalled = false;
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid, root] of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(root, { recursive: true, force: true });
    }
  });
}

// The registry's stdin is closed and its output goes to the log; the background subshell holds
// our stdin pipe on fd 3 and kills the registry when that pipe closes (we stopped or died).
const WATCHDOG = [
  'exec 3<&0',
  'docker-registry serve "$1" >>"$2" 2>&1 </dev/null 3<&- &',
  'r=$!',
  'echo "$r"',
  '(read _line <&3; kill "$r" 2>/dev/null) >/dev/null 2>&1 &',
  'exec 3<&-',
  'wait "$r"',
].join('\n');

function randomPassword(): string {
  return `pw-${randomBytes(12).toString('base64url')}`;
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET /v2/ once; resolves with the status, rejects on connection errors. */
function probe(url: string, ca: Buffer | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL('/v2/', url);
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.get(target, { ca, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
  });
}

interface Launched {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

async function launch(configFile: string, logFile: string, root: string): Promise<Launched> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child = spawn('sh', ['-c', WATCHDOG, 'registry-watchdog', configFile, logFile], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const line = text.split('\n')[0];
      if (text.includes('\n') && line && /^\d+$/.test(line)) resolve(Number(line));
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error('registry watchdog exited before reporting a pid')));
  });
  // Neither the watchdog nor its pipes keep this process alive: if a test forgets stop(),
  // Node exits, the pipe closes and the watchdog kills the registry.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  live.set(pid, root);
  killAllOnExit();
  return { child, pid, exited };
}

async function waitReady(url: string, ca: Buffer | undefined, launched: Launched, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void launched.exited.then(() => {
    exited = true;
  });
  let lastError = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`registry exited during start-up; log tail:\n${await tail(logFile)}`);
    try {
      const status = await probe(url, ca);
      if (status === 200 || status === 401) return;
      lastError = `GET /v2/ answered ${status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `registry at ${url} not ready after ${START_TIMEOUT_MS} ms (${lastError}); log tail:\n${await tail(logFile)}`,
  );
}

async function terminate(launched: Launched): Promise<void> {
  launched.child.ref(); // keep Node alive until the registry is really gone
  try {
    process.kill(launched.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  launched.child.stdin?.end();
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
  if ((await Promise.race([launched.exited, timer])) === 'timeout') {
    try {
      process.kill(launched.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await launched.exited;
  }
  live.delete(launched.pid);
}

export async function startRegistry(opts: { mode?: RegistryMode } = {}): Promise<RegistryHandle> {
  const mode = opts.mode ?? 'anonymous';
  const root = await mkdtemp(path.join(os.tmpdir(), `tarpush-registry-${mode}-`));
  const dataDir = path.join(root, 'storage');
  const logFile = path.join(root, 'registry.log');
  const configFile = path.join(root, 'config.yml');
  await mkdir(dataDir);
  const users = {
    admin: { username: 'tarpush-admin', password: randomPassword() },
    reader: { username: 'tarpush-reader', password: randomPassword() },
  };

  let tokenServer: TokenServerHandle | undefined;
  let caFile: string | undefined;
  let launched: Launched | undefined;
  try {
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: dataDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      health: { storagedriver: { enabled: false } },
    };
    const httpConfig: Record<string, unknown> = {
      secret: randomBytes(24).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    };

    if (mode === 'htpasswd-tls') {
      const tlsDir = path.join(root, 'tls');
      await mkdir(tlsDir);
      const ca = await makeTestCA(tlsDir);
      caFile = ca.caFile;
      httpConfig.tls = { certificate: ca.certFile, key: ca.keyFile };
      const htpasswd = path.join(root, 'htpasswd');
      await writeFile(
        htpasswd,
        `${htpasswdLine(users.admin.username, users.admin.password)}\n${htpasswdLine(users.reader.username, users.reader.password)}\n`,
      );
      config.auth = { htpasswd: { realm: 'tarpush-test', path: htpasswd } };
    } else if (mode === 'token') {
      const tokenDir = path.join(root, 'token');
      await mkdir(tokenDir);
      const everyRepo = (actions: string[]): Allowance => ({ type: 'repository', name: '*', actions });
      tokenServer = await startTokenServer({
        dir: tokenDir,
        service: SERVICE,
        issuer: ISSUER,
        accounts: [
          {
            ...users.admin,
            allow: [everyRepo(['pull', 'push', 'delete', '*']), { type: 'registry', name: 'catalog', actions: ['*'] }],
          },
          { ...users.reader, allow: [everyRepo(['pull'])] },
        ],
      });
      config.auth = {
        token: {
          realm: tokenServer.realm,
          service: SERVICE,
          issuer: ISSUER,
          rootcertbundle: tokenServer.certFile,
        },
      };
    }

    const ca = caFile ? await readFile(caFile) : undefined;
    const scheme = mode === 'htpasswd-tls' ? 'https' : 'http';
    // The port is picked before the registry binds it: retry if someone took it meanwhile.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      config.http = { ...httpConfig, addr: `127.0.0.1:${port}` };
      // JSON is valid YAML, and spares us quoting rules.
      await writeFile(configFile, JSON.stringify(config, null, 2));
      await writeFile(logFile, '');
      launched = await launch(configFile, logFile, root);
      const url = `${scheme}://127.0.0.1:${port}`;
      try {
        await waitReady(url, ca, launched, logFile);
      } catch (err) {
        await terminate(launched);
        launched = undefined;
        if (attempt < 3 && /address already in use/.test(await tail(logFile))) continue;
        throw err;
      }
      const running = launched;
      let stopped: Promise<void> | undefined;
      const handle: RegistryHandle = {
        mode,
        url,
        host: `127.0.0.1:${port}`,
        users,
        dataDir,
        logFile,
        stop: () => {
          stopped ??= (async () => {
            await terminate(running);
            await tokenServer?.stop();
            await rm(root, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
      if (caFile) handle.caFile = caFile;
      if (tokenServer) handle.tokenServer = tokenServer;
      return handle;
    }
  } catch (err) {
    if (launched) await terminate(launched);
    await tokenServer?.stop();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
