#!/usr/bin/env node
// Entry point. `--version` is answered without loading anything else: tagging scripts call us in loops.
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { availableParallelism } from 'node:os';

// Layer compression and decompression run on libuv's threadpool (4 threads by default):
// size it to the machine before anything uses it, so bigger CI runners are used fully.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  // Node ≥ 22.1 keeps V8's compiled code of our modules on disk (os.tmpdir()/node-compile-cache;
  // NODE_DISABLE_COMPILE_CACHE=1 turns it off), so later runs skip compiling. Node 20 has no such API.
  module.enableCompileCache?.();
  // V8 flags for the work ahead, set before anything is loaded (docs/decisions.md "Memory"):
  // `gc` for src/util/dead-buffers.ts, which frees dead chunks as a push streams; and no
  // optimising tier-up of WebAssembly, which compiles undici's HTTP parser (llhttp) again
  // with TurboFan at ~35 MiB of compiler memory; Liftoff code parses the small responses fine.
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--wasm-tiering-budget=2000000000');
  const { main } = await import('../dist/src/cli/main.js');
  const code = await main(args);
  // Exit as soon as our output is flushed: idle keep-alive sockets and library timers would
  // otherwise hold the process open for a while after the work is done.
  const flushed = (s) => new Promise((resolve) => s.write('', resolve));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
