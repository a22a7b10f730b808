// The leader's replication arithmetic, pure and separately tested: the high watermark, which followers are caught
// up, and which ISR change to propose. Invariant kept: the high watermark never exceeds the leader's log end offset
// nor a known LEO of any member of the maximal ISR, and it never moves backwards while one leader serves.

export class ReplicationInvariantError extends Error {
  constructor(message: string) {
    super(`replication invariant broken: ${message}`);
    this.name = 'ReplicationInvariantError';
  }
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new ReplicationInvariantError(typeof message === 'string' ? message : message());
}

/** What the leader knows of one follower in the current leader epoch. */
export interface FollowerProgress {
  /** The follower's log end offset (its last fetch offset); -1 until it fetched in this leader epoch. */
  logEndOffset: number;
  /** When it was last caught up (Kafka's lastCaughtUpTimeMs); starts at the leadership's start. */
  lastCaughtUpMs: number;
  /** When it last fetched, and the leader's log end offset at that moment (for the caught-up rule). */
  lastFetchMs: number;
  leaderEndAtLastFetchMs: number;
}

export function newFollowerProgress(nowMs: number): FollowerProgress {
  return { logEndOffset: -1, lastCaughtUpMs: nowMs, lastFetchMs: -1, leaderEndAtLastFetchMs: -1 };
}

/**
 * Kafka's caught-up rule (ReplicaManager.updateFollowerFetchState): a follower fetching at the leader's current log
 * end is caught up now; one fetching at least where the leader's log ended at its previous fetch was caught up at
 * that previous fetch. Returns the updated progress (a new object).
 */
export function recordFollowerFetch(progress: FollowerProgress, fetchOffset: number, leaderEndOffset: number, nowMs: number): FollowerProgress {
  let lastCaughtUpMs = progress.lastCaughtUpMs;
  if (fetchOffset >= leaderEndOffset) lastCaughtUpMs = Math.max(lastCaughtUpMs, nowMs);
  else if (progress.lastFetchMs >= 0 && fetchOffset >= progress.leaderEndAtLastFetchMs) lastCaughtUpMs = Math.max(lastCaughtUpMs, progress.lastFetchMs);
  return { logEndOffset: fetchOffset, lastCaughtUpMs, lastFetchMs: nowMs, leaderEndAtLastFetchMs: leaderEndOffset };
}

export interface HighWatermarkInput {
  leaderId: number;
  leaderEndOffset: number;
  /** The maximal ISR (committed ∪ pending additions, KIP-497): every member must have a record before it counts. */
  maximalIsr: readonly number[];
  /** The committed ISR: its size is what min.insync.replicas is checked against. */
  isr: readonly number[];
  minInsyncReplicas: number;
  followers: ReadonlyMap<number, FollowerProgress>;
  current: number;
}

/**
 * The high watermark: the smallest log end offset over the maximal ISR. It does not advance while the committed ISR
 * is smaller than min.insync.replicas (Kafka 4 / KIP-966), nor while an ISR follower's LEO is unknown (it has not
 * fetched from this leader yet), and it never goes backwards.
 */
export function computeHighWatermark(input: HighWatermarkInput): number {
  invariant(input.maximalIsr.includes(input.leaderId), () => `leader ${input.leaderId} is not in its maximal ISR ${JSON.stringify(input.maximalIsr)}`);
  invariant(input.current <= input.leaderEndOffset, () => `high watermark ${input.current} above the leader's log end ${input.leaderEndOffset}`);
  if (input.isr.length < input.minInsyncReplicas) return input.current;
  let candidate = input.leaderEndOffset;
  for (const id of input.maximalIsr) {
    if (id === input.leaderId) continue;
    const leo = input.followers.get(id)?.logEndOffset ?? -1;
    if (leo < 0) return input.current;
    candidate = Math.min(candidate, leo);
  }
  return Math.max(input.current, candidate);
}

/** ISR members (not the leader) that have not been caught up for longer than `lagTimeMaxMs`. */
export function laggingMembers(leaderId: number, isr: readonly number[], followers: ReadonlyMap<number, FollowerProgress>, nowMs: number, lagTimeMaxMs: number): number[] {
  return isr.filter((id) => {
    if (id === leaderId) return false;
    const p = followers.get(id);
    return p === undefined || nowMs - p.lastCaughtUpMs > lagTimeMaxMs;
  });
}

/**
 * Whether a follower outside the ISR may join it (Kafka's isFollowerInSync): its LEO has reached the high watermark
 * and the start of the leader's current epoch, so it holds every committed record and none of an older leader's
 * uncommitted tail.
 */
export function mayJoinIsr(progress: FollowerProgress | undefined, highWatermark: number, leaderEpochStartOffset: number): boolean {
  if (progress === undefined || progress.logEndOffset < 0) return false;
  return progress.logEndOffset >= highWatermark && progress.logEndOffset >= leaderEpochStartOffset;
}
