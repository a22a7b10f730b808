// An in-memory QuorumStateStore. It asserts what Raft safety needs from the durable quorum state: the epoch never
// decreases, and within one epoch the vote, once cast, never changes (at most one vote per epoch).
import type { QuorumState, QuorumStateStore } from './ports.js';
import { invariant } from './quorum.js';

export const initialQuorumState: QuorumState = { epoch: 0, votedFor: null, leaderId: null };

/** Throws when going from `previous` to `next` would break an invariant of durable quorum state. */
export function assertQuorumTransition(previous: QuorumState, next: QuorumState): void {
  invariant(next.epoch >= previous.epoch, () => `epoch went back from ${previous.epoch} to ${next.epoch}`);
  if (next.epoch === previous.epoch) {
    invariant(
      previous.votedFor === null || next.votedFor === previous.votedFor,
      () => `vote in epoch ${next.epoch} changed from ${previous.votedFor} to ${String(next.votedFor)}`,
    );
    invariant(
      previous.leaderId === null || next.leaderId === previous.leaderId,
      () => `leader of epoch ${next.epoch} changed from ${previous.leaderId} to ${String(next.leaderId)}`,
    );
  }
}

export class MemoryQuorumStateStore implements QuorumStateStore {
  private state: QuorumState;
  /** How many writes were made (tests use it to see that a decision was persisted). */
  writes = 0;

  constructor(initial: QuorumState = initialQuorumState) {
    this.state = { ...initial };
  }

  read(): Promise<QuorumState> {
    return Promise.resolve({ ...this.state });
  }

  write(state: QuorumState): Promise<void> {
    this.writeNow(state);
    return Promise.resolve();
  }

  /** The durable state now (for checkers). */
  current(): QuorumState {
    return { ...this.state };
  }

  protected writeNow(state: QuorumState): void {
    assertQuorumTransition(this.state, state);
    this.state = { ...state };
    this.writes++;
  }
}
