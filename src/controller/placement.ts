// Replica placement for new topics and added partitions, and the preferred leader. Keeps: no broker holds two
// replicas of a partition; replicas go to the least-loaded brokers so per-broker counts differ by at most one when
// racks allow; a partition spans as many racks as it can (every rack holds a replica when RF <= racks); leaders,
// the first replica of each list, are spread so per-broker leader counts differ by as little as the lists allow.
import { RaftlineError } from '../wire/errors.js';
import { invariant, isDistinct } from './invariant.js';

export interface PlacementBroker {
  readonly brokerId: number;
  /** broker.rack, or null when unset. */
  readonly rack: string | null;
}

export interface PlacementRequest {
  /** The brokers that may take replicas: registered, unfenced, not shutting down. */
  readonly brokers: readonly PlacementBroker[];
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Replicas per broker already placed (e.g. the topic's existing partitions), to balance against. */
  readonly replicaCounts?: ReadonlyMap<number, number>;
  /** Leaderships (first replicas) per broker already placed. */
  readonly leaderCounts?: ReadonlyMap<number, number>;
  /** Rotates tie-breaks so that topics do not all start on the lowest broker id; pass a value from the Random port. */
  readonly startIndex?: number;
}

/**
 * Places `partitions` replica lists of `replicationFactor` brokers each. Each replica goes to the least-loaded broker
 * not yet in the list (ties in a rotating round-robin order), taken from a rack the list does not use yet while there
 * is one; the first replica is the leader, and leaderships are then evened out among the new partitions. Throws
 * INVALID_REPLICATION_FACTOR when there are fewer brokers than the replication factor.
 */
export function placeReplicas(req: PlacementRequest): number[][] {
  const brokers = [...req.brokers].sort((a, b) => a.brokerId - b.brokerId);
  const n = brokers.length;
  invariant(isDistinct(brokers.map((b) => b.brokerId)), 'placement given a broker twice');
  if (!Number.isSafeInteger(req.replicationFactor) || req.replicationFactor < 1) {
    throw new RaftlineError('INVALID_REPLICATION_FACTOR', `replication factor ${req.replicationFactor} must be at least 1`);
  }
  if (req.replicationFactor > n) {
    throw new RaftlineError('INVALID_REPLICATION_FACTOR', `replication factor ${req.replicationFactor} is larger than the ${n} available brokers`);
  }
  invariant(Number.isSafeInteger(req.partitions) && req.partitions >= 0, 'placement of a negative partition count');
  const replicaCount = new Map(brokers.map((b) => [b.brokerId, req.replicaCounts?.get(b.brokerId) ?? 0]));
  const leaderCount = new Map(brokers.map((b) => [b.brokerId, req.leaderCounts?.get(b.brokerId) ?? 0]));
  const start = Math.abs(Math.trunc(req.startIndex ?? 0));
  const result: number[][] = [];
  for (let p = 0; p < req.partitions; p++) {
    // Ties go to the broker nearest after a rotating position, so equal loads are taken in round-robin order.
    const rotation = (i: number): number => (i - ((start + p) % n) + n) % n;
    // The leader slot breaks load ties by leaderships, so the lists gather brokers that can still take one.
    const rank = (i: number, slot: number): [number, number, number] => {
      const id = brokers[i]!.brokerId;
      return [replicaCount.get(id)!, slot === 0 ? leaderCount.get(id)! : 0, rotation(i)];
    };
    const better = (a: [number, number, number], b: [number, number, number]): boolean =>
      a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
    const chosen: number[] = [];
    const usedRacks = new Set<string | null>();
    const allRacks = new Set(brokers.map((b) => b.rack));
    for (let slot = 0; slot < req.replicationFactor; slot++) {
      const rackFree = usedRacks.size < allRacks.size;
      let best = -1;
      for (let i = 0; i < n; i++) {
        const b = brokers[i]!;
        if (chosen.includes(b.brokerId)) continue;
        if (rackFree && usedRacks.has(b.rack)) continue;
        if (best === -1 || better(rank(i, slot), rank(best, slot))) best = i;
      }
      invariant(best !== -1, 'placement found no broker for a replica');
      const b = brokers[best]!;
      chosen.push(b.brokerId);
      usedRacks.add(b.rack);
      replicaCount.set(b.brokerId, replicaCount.get(b.brokerId)! + 1);
    }
    // The leader is the chosen broker leading least (ties in the order chosen); it moves to the front.
    let leaderAt = 0;
    chosen.forEach((id, k) => {
      if (leaderCount.get(id)! < leaderCount.get(chosen[leaderAt]!)!) leaderAt = k;
    });
    const leader = chosen.splice(leaderAt, 1)[0]!;
    chosen.unshift(leader);
    leaderCount.set(leader, leaderCount.get(leader)! + 1);
    invariant(isDistinct(chosen), 'placement put two replicas on one broker');
    result.push(chosen);
  }
  balanceLeaders(result, leaderCount);
  return result;
}

/**
 * Evens out leaderships among the new partitions by moving leadership along augmenting paths: from a broker leading
 * the most, through partitions it leads, to a replica of them, until some broker leading at least two fewer is
 * reached; then every partition on the path hands leadership one step along. Each pass makes a most-loaded broker
 * lose one leadership and never makes another broker reach the maximum, so at most `partitions` passes run.
 */
function balanceLeaders(assignments: number[][], leaderCount: Map<number, number>): void {
  for (let pass = 0; pass <= assignments.length; pass++) {
    const counts = [...leaderCount.values()];
    const max = Math.max(...counts);
    if (max - Math.min(...counts) <= 1) return;
    // BFS over brokers; `via` remembers which partition led to each broker.
    const via = new Map<number, { from: number; partition: number }>();
    const queue = [...leaderCount].filter(([, c]) => c === max).map(([id]) => id);
    const seen = new Set(queue);
    let target: number | undefined;
    while (queue.length > 0 && target === undefined) {
      const u = queue.shift()!;
      for (let p = 0; p < assignments.length && target === undefined; p++) {
        const replicas = assignments[p]!;
        if (replicas[0] !== u) continue;
        for (const v of replicas) {
          if (seen.has(v) || !leaderCount.has(v)) continue;
          seen.add(v);
          via.set(v, { from: u, partition: p });
          if (leaderCount.get(v)! <= max - 2) {
            target = v;
            break;
          }
          queue.push(v);
        }
      }
    }
    if (target === undefined) return;
    leaderCount.set(target, leaderCount.get(target)! + 1);
    for (let v = target; via.has(v); ) {
      const { from, partition } = via.get(v)!;
      const replicas = assignments[partition]!;
      replicas.splice(replicas.indexOf(v), 1);
      replicas.unshift(v);
      v = from;
      if (!via.has(v)) leaderCount.set(v, leaderCount.get(v)! - 1);
    }
  }
}

/** Replica and leader counts of existing assignments, to continue a topic evenly (CreatePartitions). */
export function loadOf(assignments: readonly (readonly number[])[]): { replicaCounts: Map<number, number>; leaderCounts: Map<number, number> } {
  const replicaCounts = new Map<number, number>();
  const leaderCounts = new Map<number, number>();
  for (const replicas of assignments) {
    for (const r of replicas) replicaCounts.set(r, (replicaCounts.get(r) ?? 0) + 1);
    const leader = replicas[0];
    if (leader !== undefined) leaderCounts.set(leader, (leaderCounts.get(leader) ?? 0) + 1);
  }
  return { replicaCounts, leaderCounts };
}

/** The preferred leader of a partition: its first assigned replica. */
export function preferredLeader(replicas: readonly number[]): number {
  const first = replicas[0];
  invariant(first !== undefined, 'a partition without replicas has no preferred leader');
  return first;
}

/**
 * Checks a manual replica assignment (CreateTopics with explicit assignments): every list non-empty, of one length,
 * without a broker twice, naming only registered brokers. Throws INVALID_REPLICA_ASSIGNMENT naming the problem.
 */
export function validateAssignment(assignments: readonly (readonly number[])[], registered: ReadonlySet<number>): void {
  if (assignments.length === 0) throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', 'the assignment lists no partitions');
  const rf = assignments[0]!.length;
  assignments.forEach((replicas, p) => {
    if (replicas.length === 0) throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `partition ${p} has no replicas`);
    if (replicas.length !== rf) {
      throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `partition ${p} has ${replicas.length} replicas, partition 0 has ${rf}`);
    }
    if (!isDistinct(replicas)) throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `partition ${p} names a broker twice: ${JSON.stringify(replicas)}`);
    const unknown = replicas.find((r) => !registered.has(r));
    if (unknown !== undefined) throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `partition ${p} names broker ${unknown}, which is not registered`);
  });
}
