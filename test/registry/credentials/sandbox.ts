import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import type { CredentialOptions } from '../../../src/registry/credentials/index.js';

/**
 * A throw-away HOME, config dirs and a bin dir on PATH for fake credential helpers,
 * so tests never see the real user's credentials.
 */
export interface Sandbox {
  root: string;
  home: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  /** Options for findCredential pointing at this sandbox. */
  opts(extra?: Partial<CredentialOptions>): CredentialOptions;
  /** Write a JSON (or raw text) file below root; returns its path. */
  write(relPath: string, content: unknown): Promise<string>;
  /**
   * Install `docker-credential-<name>`: a node program that answers `get` from `answers`
   * (server URL → {Username, Secret}); unknown URLs get the helpers' "not found" reply.
   * Every call appends `<argv> <stdin>` to `<bin>/<name>.log`.
   */
  helper(name: string, answers: Record<string, { Username: string; Secret: string }>): Promise<void>;
  /** Install a helper with a custom program body (JS after the shebang and log lines). */
  rawHelper(name: string, body: string): Promise<void>;
  /** Lines a helper logged. */
  calls(name: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'tarpush-creds-'));
  const home = join(root, 'home');
  const bin = join(root, 'bin');
  await mkdir(home, { recursive: true });
  await mkdir(bin, { recursive: true });
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };

  const rawHelper = async (name: string, body: string) => {
    const log = JSON.stringify(join(bin, `${name}.log`));
    const program = [
      `#!${process.execPath}`,
      `const fs = require('node:fs');`,
      `const input = fs.readFileSync(0, 'utf8');`,
      `fs.appendFileSync(${log}, process.argv.slice(2).join(' ') + ' ' + input + '\\n');`,
      body,
    ].join('\n');
    const path = join(bin, `docker-credential-${name}`);
    await writeFile(path, program);
    await chmod(path, 0o755);
  };

  return {
    root,
    home,
    bin,
    env,
    opts: (extra = {}) => ({ env, homeDir: home, ...extra }),
    async write(relPath, content) {
      const path = join(root, relPath);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return path;
    },
    helper: (name, answers) =>
      rawHelper(
        name,
        [
          `const answers = ${JSON.stringify(answers)};`,
          `const a = answers[input.trim()];`,
          `if (!a) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }`,
          `process.stdout.write(JSON.stringify({ ServerURL: input.trim(), ...a }));`,
        ].join('\n'),
      ),
    rawHelper,
    async calls(name) {
      try {
        return (await readFile(join(bin, `${name}.log`), 'utf8')).split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Secrets used across the tests: no error message may contain any of them. */
export const SECRETS = ['s3cr3t:with:colons', 'hunter2-PASS', 'idtok-REFRESH-123', 'regtok-BEARER-456', 'helper-SECRET-789', 'env-PASS-000', 'flag-PASS-111'];

/** Assert `fn` rejects with `code`, a message matching `why`, and no secret anywhere in the error. */
export async function rejectsWithout(fn: () => Promise<unknown>, code: string, why: RegExp, moreSecrets: string[] = []): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, 'expected a rejection');
  const err = caught as Error & { code?: string; details?: unknown };
  assert.equal(err.code, code, err.message);
  assert.match(err.message, why);
  const everything = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err.details ?? {})}\n${String(err.cause ?? '')}`;
  for (const secret of [...SECRETS, ...moreSecrets]) {
    assert.ok(!everything.includes(secret), `error leaks a secret: ${err.message}`);
    assert.ok(!everything.includes(b64(secret)), `error leaks a base64 secret: ${err.message}`);
  }
  return err;
}
