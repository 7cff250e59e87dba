/**
 * How many pushes complete when a share of requests fails (issue 7, §3):
 *
 *   npm run bench:faults -- [--pushes 56] [--seed 7] [--rate 0.2]
 *
 * A real registry, and in front of it a proxy that faults `rate` of the requests at random
 * (seeded, so a run repeats: resets before and after forwarding, after the response head,
 * bodies cut mid-way, 500/502/503, 429 with Retry-After, slow answers). Each push publishes
 * one fixture (every format in fixtures/, in turn) with the library's `publish()` and the
 * default client settings, to its own repository under two tags. Then, straight from the
 * registry (not through the proxy): a completed push's tags must name the digest publish()
 * reported, and a failed push must have left no tag. Prints the completion figure; exits 1
 * when a push failed or a check did not hold.
 */
import { publish } from '../src/publish/publish.js';
import type { ClientEvent } from '../src/registry/index.js';
import { closeSharedClients } from '../src/registry/index.js';
import { fixtures } from '../test/support/fixtures.js';
import { FAULT_KINDS, startRandomFaultProxy } from '../test/support/random-fault-proxy.js';
import { startRegistry } from '../test/support/registry.js';
import { benchArgs, positiveInt } from './lib/cli-args.js';
import { manifestDigest } from './lib/registry-http.js';

const USAGE = `Usage: node dist/bench/fault-rate.js [--pushes 56] [--seed 7] [--rate 0.2]

Pushes the fixtures through a proxy faulting --rate of requests at random and reports how
many pushes completed, and that failed pushes left no tag.`;

const args = benchArgs({ pushes: 'string', seed: 'string', rate: 'string' }, USAGE);
const pushes = positiveInt(args.pushes, 'pushes', 56);
const seed = positiveInt(args.seed, 'seed', 7);
const rate = args.rate === undefined ? 0.2 : Number(args.rate);
if (!(rate >= 0 && rate <= 1)) throw new Error(`--rate must be between 0 and 1, got ${String(args.rate)}`);

const log = (line: string): void => {
  process.stderr.write(`fault-rate: ${line}\n`);
};

/** What to publish from each fixture: a multi-image archive needs its image named. */
/** The fixture's first named image: archives of several (images, or an image with its artifacts) need a choice. */
function selection(fixture: { names: readonly string[] }): { image?: string } {
  return fixture.names[0] !== undefined ? { image: fixture.names[0] } : {};
}

const reg = await startRegistry();
const [regHost, regPort] = reg.host.split(':');
const proxy = await startRandomFaultProxy({ host: regHost!, port: Number(regPort) }, { seed, rate });
let completed = 0;
let retries = 0;
const problems: string[] = [];
const failures: string[] = [];
const started = Date.now();
try {
  for (let i = 0; i < pushes; i++) {
    const fixture = fixtures[i % fixtures.length]!;
    const repo = `faults/p${i}`;
    const tags = ['v1', 'extra'];
    const t0 = Date.now();
    let digest: string | undefined;
    try {
      const results = await publish({
        source: fixture.path,
        destinations: [`${proxy.host}/${repo}:${tags[0]}`],
        tags: tags.slice(1),
        ...selection(fixture),
        cache: false,
        jobs: 1, // requests in a stable order, so the seeded faults repeat
        client: {
          log: (e: ClientEvent) => {
            if (e.type === 'retry') retries++;
          },
        },
      });
      digest = results[0]!.digest;
      completed++;
      log(`push ${i + 1}/${pushes} ${fixture.name}: ok in ${Date.now() - t0} ms`);
    } catch (err) {
      failures.push(`push ${i + 1} ${fixture.name}: ${(err as Error).message}`);
      log(`push ${i + 1}/${pushes} ${fixture.name}: FAILED in ${Date.now() - t0} ms: ${(err as Error).message}`);
    }
    for (const tag of tags) {
      const held = await manifestDigest(reg.url, repo, tag);
      if (digest !== undefined && held !== digest) problems.push(`${repo}:${tag} holds ${held ?? 'nothing'}, publish reported ${digest}`);
      if (digest === undefined && held !== undefined) problems.push(`${repo}:${tag} exists (${held}) although the push failed`);
    }
  }
} finally {
  await closeSharedClients();
  await proxy.stop();
  await reg.stop();
}

const faulted = FAULT_KINDS.map((k) => `${k} ${proxy.stats.faults[k]}`).join(', ');
const totalFaults = FAULT_KINDS.reduce((n, k) => n + proxy.stats.faults[k], 0);
const percent = ((100 * completed) / pushes).toFixed(1);
process.stdout.write(
  [
    `fault rate ${rate} (seed ${seed}): ${completed} of ${pushes} pushes completed (${percent} %) in ${Math.round((Date.now() - started) / 1000)} s`,
    `requests ${proxy.stats.requests}, faults injected ${totalFaults} (${faulted}); retries logged ${retries}`,
    `tag checks: ${problems.length === 0 ? 'every completed push holds its digest under both tags; no failed push left a tag' : problems.join('; ')}`,
    ...failures.map((f) => `failed: ${f}`),
    '',
  ].join('\n'),
);
process.exitCode = completed === pushes && problems.length === 0 ? 0 : 1;
