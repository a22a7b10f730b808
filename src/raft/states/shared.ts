// Pieces every state of the Raft chart shares: how a state that waits for a write treats the events meanwhile,
// and the invoked write of the pending quorum state (whose completion is the only way on: persist before you speak).
import type { QuorumState, RaftPorts } from '../ports.js';
import { raftMessageTypes } from '../setup.js';

/** While a write is in flight the node neither answers nor changes course: dropped messages are retried by peers. */
export const busy = {
  ...Object.fromEntries(raftMessageTypes.map((type) => [type, { actions: 'dropWhileBusy' as const }])),
  'raft.propose': { actions: 'rejectProposal' as const },
  'raft.shutdown': {},
  'raft.log.flushed': {},
};

/** Writes the pending quorum state; on completion the node adopts it and sends what waited for it. */
export const persistPending = {
  src: 'persistQuorumState',
  input: ({ context }: { context: { ports: RaftPorts; pendingQuorum: QuorumState | null } }) => ({
    ports: context.ports,
    state: context.pendingQuorum,
  }),
} as const;
