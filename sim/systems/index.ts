// The registry of systems the runner can simulate, by the name a schedule's "system" field uses.
import type { SimSystem } from '../system.js';
import { pingPongSystem } from './ping-pong.js';
import { raftQuorumSystem } from './raft-quorum.js';
import { clusterSystem } from './cluster.js';

const systems = new Map<string, SimSystem>([
  [pingPongSystem.name, pingPongSystem],
  [raftQuorumSystem.name, raftQuorumSystem],
  [clusterSystem.name, clusterSystem],
]);

export function findSystem(name: string): SimSystem {
  const s = systems.get(name);
  if (s === undefined) throw new Error(`unknown system ${JSON.stringify(name)} (known: ${[...systems.keys()].join(', ')})`);
  return s;
}

/** Adds a system (the quorum and replication work registers theirs here). */
export function registerSystem(system: SimSystem): void {
  if (systems.has(system.name)) throw new Error(`system ${system.name} registered twice`);
  systems.set(system.name, system);
}

export function systemNames(): string[] {
  return [...systems.keys()];
}
