// The plug-in contracts of the simulator: a "system under test" (how to build one node of it, what its workload
// is, when it has converged) and checkers (invariants watched on every step and at the end of each phase).
// The simulator knows nothing about Raft or brokers; the quorum and replication work plugs in through these.
import type { Runtime } from '../src/runtime/index.js';
import type { TraceEvent } from './trace.js';
import type { Schedule } from './schedule.js';
import type { Simulation } from './simulation.js';

export interface SimNodeContext {
  /** Kafka-style numeric node id (node.id). */
  readonly nodeId: number;
  /** The node's network host; its listeners and connections use it ("n1"). */
  readonly host: string;
  readonly roles: readonly string[];
  /** 0 on first start, +1 on every restart. */
  readonly incarnation: number;
  /** Clock, random stream, network view, disk and logger of this incarnation. */
  readonly runtime: Runtime;
  /** The whole schedule (cluster, topics, workload), read-only. */
  readonly schedule: Schedule;
  /** Hosts of every node in the cluster, by node id. */
  hostOf(nodeId: number): string;
}

/** One running incarnation of a node. A crash simply abandons it (no stop call): memory is gone. */
export interface SimNode {
  start(): Promise<void> | void;
  /** Graceful shutdown (end of a run, or a `stop` fault, which waits for the returned promise before the exit). */
  stop(): Promise<void> | void;
}

export interface SimSystem {
  readonly name: string;
  createNode(ctx: SimNodeContext): SimNode;
  /** The system's own invariants (e.g. "at most one leader per term"). */
  checkers?(sim: Simulation): Checker[];
  /** Liveness: true once, with every fault healed, the system has converged and drained its workload. */
  converged?(sim: Simulation): boolean;
}

export type Phase = 'safety' | 'liveness';

/** Reports a broken invariant; the run stops at the first one. */
export type Fail = (message: string) => void;

export interface Checker {
  readonly name: string;
  /** Sees every trace event as it is recorded. Keep it O(1): it runs on the hot path. */
  onEvent?(event: TraceEvent, fail: Fail): void;
  /** Runs after every scheduler step (one timer fired and its promise jobs settled). */
  onStep?(sim: Simulation, fail: Fail): void;
  /** Runs when a phase ends. */
  atEnd?(sim: Simulation, phase: Phase, fail: Fail): void;
}

export interface Violation {
  checker: string;
  message: string;
  /** Virtual ms at which it was found. */
  t: number;
  phase: Phase;
}
