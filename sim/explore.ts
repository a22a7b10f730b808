// `explore`: runs many seeds, each with its own swarm-generated schedule, over a pool of worker threads (or in
// process when no bundled worker exists), and gathers what failed. Invariant: the outcome of a seed depends only
// on (base schedule, seed), never on which worker ran it or in which order.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { generateSchedule } from './generator.js';
import { runSchedule } from './runner.js';
import type { Schedule } from './schedule.js';
import type { WireMode } from './simulation.js';
import type { Violation } from './system.js';

export interface ExploreRequest {
  seed: number;
  base: Schedule;
  /** 'bytes' runs every seed with the wire check (real encoding and validation of every frame). */
  wire?: WireMode;
}

export interface ExploreOutcome {
  seed: number;
  ok: boolean;
  schedule: Schedule;
  violations: Violation[];
  traceHash: string;
  events: number;
  virtualMs: number;
  wallMs: number;
}

export async function exploreSeed(request: ExploreRequest): Promise<ExploreOutcome> {
  const schedule = generateSchedule(request.base, request.seed);
  const r = await runSchedule({ schedule, seed: request.seed, ...(request.wire !== undefined ? { wire: request.wire } : {}) });
  return { seed: request.seed, ok: r.ok, schedule, violations: r.violations, traceHash: r.traceHash, events: r.events, virtualMs: r.virtualMs, wallMs: r.wallMs };
}

export async function exploreSeeds(
  base: Schedule,
  seeds: readonly number[],
  jobs: number,
  onOutcome: (o: ExploreOutcome) => void,
  wire: WireMode = 'in-process',
): Promise<ExploreOutcome[]> {
  const workerFile = new URL('./sim-worker.js', import.meta.url);
  const outcomes: ExploreOutcome[] = [];
  const useWorkers = jobs > 1 && import.meta.url.endsWith('.js') && existsSync(workerFile);
  if (!useWorkers) {
    for (const seed of seeds) {
      const o = await exploreSeed({ seed, base, wire });
      outcomes.push(o);
      onOutcome(o);
    }
    return outcomes;
  }
  const queue = [...seeds];
  await Promise.all(
    Array.from({ length: Math.min(jobs, seeds.length) }, () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(workerFile);
        const next = (): void => {
          const seed = queue.shift();
          if (seed === undefined) {
            void worker.terminate().then(() => resolve());
            return;
          }
          worker.postMessage({ seed, base, wire } satisfies ExploreRequest);
        };
        worker.on('message', (msg: ExploreOutcome | { seed: number; error: string }) => {
          if ('error' in msg) {
            void worker.terminate();
            reject(new Error(`seed ${msg.seed}: ${msg.error}`));
            return;
          }
          outcomes.push(msg);
          onOutcome(msg);
          next();
        });
        worker.on('error', reject);
        next();
      }),
    ),
  );
  return outcomes.sort((a, b) => a.seed - b.seed);
}
