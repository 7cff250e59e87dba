import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/fixtures.js';

const cleanupModule = pathToFileURL(join(repoRoot, 'dist', 'src', 'util', 'cleanup.js')).href;

/**
 * A child process that writes `file`, registers its removal, says "ready" and waits; the
 * test then signals it. `extraListener`: the host program handles the signal itself.
 */
function child(file: string, opts: { unregister?: boolean; extraListener?: boolean } = {}) {
  const script = `
    import { writeFileSync, rmSync } from 'node:fs';
    import { registerCleanup } from ${JSON.stringify(cleanupModule)};
    writeFileSync(${JSON.stringify(file)}, 'x');
    const un = registerCleanup(() => rmSync(${JSON.stringify(file)}, { force: true }));
    ${opts.unregister ? 'un();' : ''}
    ${opts.extraListener ? "process.on('SIGTERM', () => { process.stdout.write('host handled\\n'); setTimeout(() => process.exit(7), 50); });" : ''}
    setInterval(() => {}, 1000);
    process.stdout.write('ready\\n');
  `;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve) => p.stdout.on('data', (c) => ((out += c), out.includes('ready') && resolve())));
  const exited = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => {
    const kill = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code, signal) => (clearTimeout(kill), resolve({ code, signal, out })));
  });
  return { p, ready, exited };
}

describe('registerCleanup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tarpush-cleanup-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal}: removes the registered file and exits ${status}`, async () => {
      const file = join(dir, `spool-${signal}`);
      const c = child(file);
      await c.ready;
      assert.ok(existsSync(file));
      c.p.kill(signal);
      const r = await c.exited;
      assert.equal(r.code, status);
      assert.equal(existsSync(file), false, 'temp file removed');
    });
  }

  it('an unregistered remover does not run; the process still exits 143', async () => {
    const file = join(dir, 'kept');
    const c = child(file, { unregister: true });
    await c.ready;
    c.p.kill('SIGTERM');
    const r = await c.exited;
    assert.equal(r.code, 143);
    assert.equal(existsSync(file), true, 'no longer registered, so left alone');
  });

  it('leaves exiting to a host program that handles the signal itself (after cleaning up)', async () => {
    const file = join(dir, 'hosted');
    const c = child(file, { extraListener: true });
    await c.ready;
    c.p.kill('SIGTERM');
    const r = await c.exited;
    assert.equal(r.code, 7, 'the host chose its own exit status');
    assert.match(r.out, /host handled/);
    assert.equal(existsSync(file), false);
  });

  it('runs removers left registered when the process exits normally', async () => {
    const file = join(dir, 'on-exit');
    writeFileSync(file, 'x');
    const script = `
      import { rmSync } from 'node:fs';
      import { registerCleanup } from ${JSON.stringify(cleanupModule)};
      registerCleanup(() => rmSync(${JSON.stringify(file)}, { force: true }));
      process.exitCode = 0;
    `;
    const code = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' }).on('close', resolve),
    );
    assert.equal(code, 0);
    assert.equal(existsSync(file), false);
  });
});
