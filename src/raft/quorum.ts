// Quorum arithmetic of KRaft, free of state and I/O so each rule is tested on its own: majorities, the high watermark
// (only ever over an offset of the leader's own epoch), the vote-granting rule, fetch divergence and back-off.
import type { EpochEndOffset } from '../wire/raft.js';
import type { NodeId, QuorumState } from './ports.js';

export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant broken: ${message}`);
    this.name = 'RaftInvariantError';
  }
}

/** A broken invariant is a crash, never a warning (CONVENTIONS.md). */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftInvariantError(typeof message === 'string' ? message : message());
}

/** Votes needed among `voterCount` voters. */
export function majority(voterCount: number): number {
  invariant(voterCount > 0, 'a quorum needs at least one voter');
  return Math.floor(voterCount / 2) + 1;
}

/** True when `granted` (voters only, duplicates ignored) reaches a majority of `voters`. */
export function hasMajority(granted: Iterable<NodeId>, voters: readonly NodeId[]): boolean {
  const voterSet = new Set(voters);
  const counted = new Set([...granted].filter((id) => voterSet.has(id)));
  return counted.size >= majority(voters.length);
}

/** True when so many voters rejected that a majority can no longer be reached. */
export function majorityLost(rejected: Iterable<NodeId>, voters: readonly NodeId[]): boolean {
  const voterSet = new Set(voters);
  const counted = new Set([...rejected].filter((id) => voterSet.has(id)));
  return voters.length - counted.size < majority(voters.length);
}

/**
 * The leader's high watermark (KIP-595, Raft §5.4.2): the largest offset that a majority of voters hold, but only
 * if it covers an entry of the leader's own epoch (`epochStartOffset` is the offset of its first entry); it never
 * goes down. `endOffsets` has one durable log end offset per voter, the leader's own included.
 */
export function highWatermark(endOffsets: readonly number[], currentHighWatermark: number, epochStartOffset: number): number {
  invariant(endOffsets.length > 0, 'high watermark of an empty voter set');
  const sorted = [...endOffsets].sort((a, b) => b - a);
  const majorityOffset = sorted[majority(endOffsets.length) - 1] ?? 0;
  if (majorityOffset <= epochStartOffset) return currentHighWatermark;
  return Math.max(currentHighWatermark, majorityOffset);
}

export interface LogPosition {
  lastEpoch: number;
  endOffset: number;
}

/** Raft §5.4.1: the candidate's log is at least as up to date as ours (higher last epoch, or same and no shorter). */
export function isLogUpToDate(candidate: LogPosition, local: LogPosition): boolean {
  if (candidate.lastEpoch !== local.lastEpoch) return candidate.lastEpoch > local.lastEpoch;
  return candidate.endOffset >= local.endOffset;
}

export type VoteDecision =
  /** Answer at once, nothing changes (stale epoch, pre-votes, a repeated grant). */
  | { kind: 'reply'; granted: boolean }
  /** Persist `state`, then answer with `granted` (a new vote, or a newer epoch to adopt). */
  | { kind: 'persist-then-reply'; state: QuorumState; granted: boolean };

export interface VoterView {
  quorum: QuorumState;
  log: LogPosition;
  isVoter: boolean;
  /** KIP-996: this node has a leader it heard from within the fetch timeout (a follower) or is the leader. */
  hasLiveLeader: boolean;
  /**
   * A leader of the current epoch was known and then given up on (fetch timeout): `quorum.leaderId` is null again in
   * memory, but the epoch had a leader (and the durable state still names it), so no vote may be granted in it.
   */
  epochHadLeader?: boolean;
}

/**
 * How a node answers a (pre-)vote: at most one vote per epoch, only for a candidate whose log is at least as up to
 * date, and only when no leader is known in that epoch. A pre-vote never changes state; it is granted only when we
 * have no live leader (so a partitioned node cannot disrupt a healthy quorum, KIP-996).
 */
export function decideVote(
  view: VoterView,
  request: { candidateId: NodeId; candidateEpoch: number; lastOffsetEpoch: number; lastOffset: number; preVote: boolean },
): VoteDecision {
  const { quorum } = view;
  const logOk = isLogUpToDate({ lastEpoch: request.lastOffsetEpoch, endOffset: request.lastOffset }, view.log);
  if (!view.isVoter) {
    // Observers never vote, but a real vote of a newer epoch still moves them to that epoch.
    if (!request.preVote && request.candidateEpoch > quorum.epoch) {
      return { kind: 'persist-then-reply', state: { epoch: request.candidateEpoch, votedFor: null, leaderId: null }, granted: false };
    }
    return { kind: 'reply', granted: false };
  }
  if (request.preVote) {
    const granted = request.candidateEpoch > quorum.epoch && !view.hasLiveLeader && logOk;
    return { kind: 'reply', granted };
  }
  if (request.candidateEpoch < quorum.epoch) return { kind: 'reply', granted: false };
  if (request.candidateEpoch > quorum.epoch) {
    return logOk
      ? { kind: 'persist-then-reply', state: { epoch: request.candidateEpoch, votedFor: request.candidateId, leaderId: null }, granted: true }
      : { kind: 'persist-then-reply', state: { epoch: request.candidateEpoch, votedFor: null, leaderId: null }, granted: false };
  }
  if (quorum.votedFor === request.candidateId) return { kind: 'reply', granted: true };
  if (quorum.votedFor !== null || quorum.leaderId !== null || view.epochHadLeader === true || !logOk) return { kind: 'reply', granted: false };
  return { kind: 'persist-then-reply', state: { ...quorum, votedFor: request.candidateId }, granted: true };
}

/**
 * Leader side of a fetch (KIP-595): given what the leader holds for the fetcher's last fetched epoch, either the
 * logs agree up to `fetchOffset` (null) or they diverge and the fetcher must truncate to at most the returned
 * position. `leaderEndOffsetForEpoch` is the leader's `endOffsetForEpoch(lastFetchedEpoch)`.
 */
export function fetchDivergence(
  fetchOffset: number,
  lastFetchedEpoch: number,
  leaderEndOffsetForEpoch: EpochEndOffset,
): EpochEndOffset | null {
  const agrees = leaderEndOffsetForEpoch.epoch === lastFetchedEpoch && leaderEndOffsetForEpoch.endOffset >= fetchOffset;
  if (agrees) return null;
  return { epoch: leaderEndOffsetForEpoch.epoch, endOffset: Math.min(leaderEndOffsetForEpoch.endOffset, fetchOffset) };
}

/**
 * Follower side: where to truncate after the leader reported `diverging`. We cut at the smaller of the leader's end
 * of that epoch and our own end of it, so the next fetch carries an (offset, epoch) pair both logs hold, or a
 * smaller one that the leader will check again.
 */
export function truncationOffset(diverging: EpochEndOffset, localEndOffsetForEpoch: EpochEndOffset): number {
  return Math.min(diverging.endOffset, localEndOffsetForEpoch.endOffset);
}

/** A randomised election timeout in [base, 2·base) (Kafka: controller.quorum.election.timeout.ms plus jitter). */
export function randomElectionTimeoutMs(baseMs: number, unit: number): number {
  invariant(unit >= 0 && unit < 1, 'random unit out of [0, 1)');
  return baseMs + Math.floor(unit * baseMs);
}

/**
 * Exponential election back-off after `failedElections` lost rounds: a random wait up to
 * retryBackoff·2^(failed-1), capped at `maxMs` (Kafka's binary exponential back-off). Zero before the first failure.
 */
export function electionBackoffMs(failedElections: number, retryBackoffMs: number, maxMs: number, unit: number): number {
  invariant(unit >= 0 && unit < 1, 'random unit out of [0, 1)');
  if (failedElections <= 0) return 0;
  const ceiling = Math.min(maxMs, retryBackoffMs * 2 ** Math.min(failedElections - 1, 30));
  return Math.floor(unit * ceiling);
}

/**
 * When the leader's contact with a majority lapses (KIP-595 check-quorum): with `lastContactMs` of every other voter
 * (null when never heard in this epoch, then counted from `sinceMs`, when leadership began), the instant at which
 * fewer than a majority (the leader counting itself) will have been heard within `windowMs`.
 */
export function quorumContactDeadlineMs(lastContactMs: readonly (number | null)[], voterCount: number, sinceMs: number, windowMs: number): number {
  const needed = majority(voterCount) - 1;
  if (needed === 0) return Number.POSITIVE_INFINITY;
  const contacts = lastContactMs.map((t) => t ?? sinceMs).sort((a, b) => b - a);
  const kth = contacts[needed - 1] ?? sinceMs;
  return Math.max(kth, sinceMs) + windowMs;
}

/**
 * How long a follower whose connection to the leader was reset waits before its pre-vote: a random delay in
 * [minMs, maxMs), never past what is left of the fetch timeout (`fetchDeadlineInMs`, at least 1 ms), so the early path
 * is never slower than the fallback. Randomised like the election timeout so that followers rarely campaign together.
 */
export function unreachableLeaderDelayMs(minMs: number, maxMs: number, unit: number, fetchDeadlineInMs: number): number {
  invariant(unit >= 0 && unit < 1, 'random unit out of [0, 1)');
  invariant(Number.isInteger(minMs) && minMs > 0 && maxMs > minMs, 'unreachable-leader delay range must be positive and non-empty');
  const drawn = minMs + Math.floor(unit * (maxMs - minMs));
  return Math.max(1, Math.min(drawn, fetchDeadlineInMs));
}
