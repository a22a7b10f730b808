// Runs one schedule under one seed in two phases — safety (faults on) then liveness (everything healed; the system
// must converge within livenessMs) — and returns the verdict, the trace hash and timing. Invariant: the result
// (except wall-clock timing) depends only on (schedule, seed, system code).
import { simStepsMax } from '../src/limits.js';
import { genericCheckers } from './checkers.js';
import { defaultDiskFactory } from './runtime/default-disk.js';
import type { DiskFactory } from './runtime/disk-port.js';
import type { Expectation, Schedule } from './schedule.js';
import { Simulation, type WireMode } from './simulation.js';
import type { Checker, SimSystem, Violation } from './system.js';
import { findSystem } from './systems/index.js';
import type { TraceSink } from './trace.js';

export interface RunOptions {
  schedule: Schedule;
  seed: number;
  system?: SimSystem;
  createDisk?: DiskFactory;
  traceSink?: TraceSink;
  checkers?: Checker[];
  /** 'bytes' (the wire check) encodes and validates every frame; default 'in-process' (see SimulationOptions.wire). */
  wire?: WireMode;
}

export interface RunResult {
  seed: number;
  system: string;
  ok: boolean;
  violations: Violation[];
  traceHash: string;
  events: number;
  steps: number;
  virtualMs: number;
  wallMs: number;
  /** Virtual ms after the start of the liveness phase at which the system converged (undefined when it did not). */
  convergedAfterMs: number | undefined;
  /** With a schedule that states an expectation: null when the verdict matches it, else what differs. */
  unexpected?: string | null;
}

/** Null when the run's violations are what `expect` says (none, or exactly its checkers with their causes). */
export function checkExpectation(expect: Expectation, violations: readonly Violation[]): string | null {
  const wanted = new Set(expect.violations.map((v) => v.checker));
  const got = new Set(violations.map((v) => v.checker));
  if (wanted.size === 0) return got.size === 0 ? null : `expected no violation, got ${[...got].join(', ')}: ${violations[0]?.message ?? ''}`;
  const missing = [...wanted].filter((c) => !got.has(c));
  const extra = [...got].filter((c) => !wanted.has(c));
  if (missing.length > 0 || extra.length > 0) {
    return `expected violations of ${[...wanted].join(', ')}; ${missing.length > 0 ? `missing ${missing.join(', ')}` : ''}${missing.length > 0 && extra.length > 0 ? ', ' : ''}${extra.length > 0 ? `unexpected ${extra.join(', ')} (${violations.find((v) => extra.includes(v.checker))?.message ?? ''})` : ''}`;
  }
  for (const e of expect.violations) {
    if (e.cause === undefined) continue;
    const wrong = violations.find((v) => v.checker === e.checker && !v.message.includes(`cause (${e.cause})`));
    if (wrong !== undefined) return `expected every ${e.checker} to name cause ${e.cause}, got: ${wrong.message}`;
  }
  return null;
}

export async function runSchedule(options: RunOptions): Promise<RunResult> {
  const system = options.system ?? findSystem(options.schedule.system);
  const sim = new Simulation({
    seed: options.seed,
    schedule: options.schedule,
    system,
    createDisk: options.createDisk ?? defaultDiskFactory,
    stepsMax: simStepsMax,
    ...(options.traceSink !== undefined ? { traceSink: options.traceSink } : {}),
    ...(options.checkers !== undefined ? { checkers: options.checkers } : {}),
    ...(options.wire !== undefined ? { wire: options.wire } : {}),
  });
  const wallStart = process.hrtime.bigint();
  let convergedAfterMs: number | undefined;
  await sim.sealed(async () => {
    sim.start(genericCheckers());
    const { safetyMs, livenessMs } = options.schedule.phases;
    await sim.runUntil(safetyMs);
    if (!sim.failed) sim.endPhase('safety');
    if (sim.failed) return;
    sim.phase = 'liveness';
    sim.healAll();
    const converged = (): boolean => system.converged === undefined || system.converged(sim);
    await sim.runUntil(safetyMs + livenessMs, converged);
    if (sim.failed) return;
    if (converged()) {
      convergedAfterMs = sim.nowMs() - safetyMs;
      sim.trace.record('-', 'sim.converged', { afterMs: convergedAfterMs });
    } else {
      sim.fail('liveness', `${system.name} did not converge within ${livenessMs} ms of healing`);
      return;
    }
    sim.endPhase('liveness');
    sim.stopAll();
    // Let the goodbyes (closes in flight) play out so the trace ends at rest, with time bounded.
    await sim.runUntil(sim.nowMs() + 1_000);
  });
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  sim.trace.record('-', 'sim.end', { ok: !sim.failed });
  const expect = options.schedule.expect;
  return {
    ...(expect === undefined ? {} : { unexpected: checkExpectation(expect, sim.violations) }),
    seed: options.seed,
    system: system.name,
    ok: !sim.failed,
    violations: sim.violations,
    traceHash: sim.trace.digest(),
    events: sim.trace.size(),
    steps: sim.clock.fired,
    virtualMs: sim.nowMs(),
    wallMs,
    convergedAfterMs,
  };
}

/** The checker a failure is attributed to (the shrinker keeps only what still fails the same way). */
export function failureKind(result: RunResult): string | undefined {
  return result.violations[0]?.checker;
}
