// The simulator's speed benchmark (`node dist/sim.js bench`): fixed schedules of a 3-node cluster, idle and under load,
// for each system (ping-pong, the raft-quorum, the whole-node cluster), reported as simulated seconds per wall second
// and per CPU second. Invariant: every bench run must pass (a failing run is no speed measurement) and the schedules
// depend only on the options, so two invocations measure the same work.
import { runSchedule, type RunResult } from './runner.js';
import { parseSchedule, type Schedule } from './schedule.js';
import type { WireMode } from './simulation.js';

export type BenchSystem = 'ping-pong' | 'raft-quorum' | 'cluster';
export type BenchLoad = 'idle' | 'load';

export const benchSystems: readonly BenchSystem[] = ['ping-pong', 'raft-quorum', 'cluster'];

export interface BenchOptions {
  /** Virtual seconds of an idle run's safety phase. */
  idleVirtualS: number;
  /** Virtual seconds of a loaded run's safety phase (the workload runs at `ratePerSec` for that long). */
  loadVirtualS: number;
  /** Proposals per second (raft-quorum) or records per second, acks=all (cluster). */
  ratePerSec: number;
  /** Ping interval of the ping-pong idle cluster. */
  intervalMs: number;
  /** The raft-quorum leader's quorum.append.linger.ms (0, the default: each proposal is appended as it arrives). */
  appendLingerMs: number;
  /** How frames cross the network ('bytes': the wire check mode). */
  wire: WireMode;
}

export interface BenchResult {
  system: BenchSystem;
  load: BenchLoad;
  wire: WireMode;
  /** What the run does, in a few words. */
  what: string;
  run: RunResult;
  cpuMs: number;
}

const combined3 = [1, 2, 3].map((id) => ({ id, roles: ['broker', 'controller'] }));

/** The schedule one bench case runs. */
export function benchSchedule(system: BenchSystem, load: BenchLoad, o: BenchOptions): { schedule: Schedule; what: string } {
  const virtualMs = (load === 'idle' ? o.idleVirtualS : o.loadVirtualS) * 1000;
  switch (system) {
    case 'ping-pong': {
      if (load === 'load') throw new RangeError('bench: ping-pong has no loaded case');
      const schedule = parseSchedule({
        version: 1,
        system: 'ping-pong',
        cluster: { nodes: combined3 },
        // As many rounds as fit in the run, so the pingers are done (converged) just after it: a heartbeat-only cluster.
        workload: { params: { rounds: Math.ceil(virtualMs / o.intervalMs), intervalMs: o.intervalMs, timeoutMs: 250 } },
        phases: { safetyMs: virtualMs, livenessMs: 10_000 },
      });
      return { schedule, what: `3 nodes, each pings its neighbour every ${o.intervalMs} ms` };
    }
    case 'raft-quorum': {
      const proposals = load === 'idle' ? 0 : Math.round((o.ratePerSec * virtualMs) / 1000);
      const schedule = parseSchedule({
        version: 1,
        system: 'raft-quorum',
        cluster: { nodes: combined3 },
        network: { latencyMinMs: 1, latencyMaxMs: 10 },
        workload: {
          params: {
            ...(load === 'idle' ? { proposals: 0 } : { proposals, proposalsPerSec: o.ratePerSec }),
            ...(o.appendLingerMs > 0 ? { 'raft.appendLingerMs': o.appendLingerMs } : {}),
          },
        },
        phases: { safetyMs: virtualMs, livenessMs: 10_000 },
      });
      const linger = o.appendLingerMs > 0 ? `, append linger ${o.appendLingerMs} ms` : '';
      return { schedule, what: load === 'idle' ? `3 voters, no proposals${linger}` : `3 voters, ${o.ratePerSec} proposals/s${linger}` };
    }
    case 'cluster': {
      const messages = Math.round((o.ratePerSec * virtualMs) / 1000);
      const schedule = parseSchedule({
        version: 1,
        system: 'cluster',
        cluster: {
          nodes: [...combined3, { id: 9, roles: ['client'] }],
          topics: [{ name: 'events', partitions: 1, config: { 'replication.factor': 3, 'min.insync.replicas': 2, 'unclean.leader.election.enable': false } }],
        },
        workload:
          load === 'idle'
            ? { params: { adminOps: 0 } }
            : { producers: [{ id: 'p1', node: 9, topic: 'events', acks: 'all', ratePerSec: o.ratePerSec, messages }], params: { adminOps: 0 } },
        network: { latencyMinMs: 1, latencyMaxMs: 10 },
        phases: { safetyMs: virtualMs, livenessMs: 30_000 },
      });
      return {
        schedule,
        what: load === 'idle' ? '3 combined nodes, one RF=3 topic, no clients' : `3 combined nodes, ${o.ratePerSec} records/s acks=all (RF=3, min.insync=2, real Producer)`,
      };
    }
  }
}

/** Runs one bench case in this process; CPU time is this process's user + system time during the run. */
export async function benchOne(system: BenchSystem, load: BenchLoad, o: BenchOptions): Promise<BenchResult> {
  const { schedule, what } = benchSchedule(system, load, o);
  const cpuStart = process.cpuUsage();
  const run = await runSchedule({ schedule, seed: 1, wire: o.wire });
  const cpu = process.cpuUsage(cpuStart);
  return { system, load, wire: o.wire, what, run, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function ratio(virtualMs: number, ms: number): string {
  return ms > 0 ? `${Math.round(virtualMs / ms)}x` : 'inf';
}

/** One line per case: simulated s per wall s and per CPU s (on a shared machine the CPU figure is the honest one). */
export function describeBench(r: BenchResult): string {
  const { run } = r;
  return (
    `${r.system} ${r.load}${r.wire === 'bytes' ? ' --wire-check' : ''} (${r.what}): ${(run.virtualMs / 1000).toFixed(1)} simulated s in ${(run.wallMs / 1000).toFixed(2)} wall s = ${ratio(run.virtualMs, run.wallMs)} per wall s, ` +
    `${(r.cpuMs / 1000).toFixed(2)} CPU s = ${ratio(run.virtualMs, r.cpuMs)} per CPU s; ${run.events} events, ${run.steps} steps, ` +
    `${Math.round(run.steps / (r.cpuMs / 1000))} steps per CPU s${run.ok ? '' : ` — FAILED: ${run.violations[0]?.checker ?? '?'}: ${run.violations[0]?.message ?? ''}`}`
  );
}
