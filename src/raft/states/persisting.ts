// Loading and the persisting states: the node reads its quorum state on start, and every change of epoch, vote or
// leader that a reply depends on is written here first; only `xstate.done.actor.*` of the write moves on.
import { raftSetup } from '../setup.js';
import { busy, persistPending } from './shared.js';

export const loading = raftSetup.createStateConfig({
  entry: { type: 'setRole', params: { role: 'loading' } },
  invoke: {
    id: 'load',
    src: 'loadQuorumState',
    input: ({ context }) => ({ ports: context.ports }),
    onDone: [
      { guard: 'loadedLeaderIsOther', target: 'follower', actions: 'adoptLoadedQuorum' },
      { target: 'unattached', actions: 'adoptLoadedQuorum' },
    ],
  },
  on: busy,
});

/** Granting a vote: the vote is durable before the candidate hears "granted" (at most one vote per epoch). */
export const persistingVote = raftSetup.createStateConfig({
  entry: { type: 'setRole', params: { role: 'persisting' } },
  invoke: { ...persistPending, onDone: { target: 'unattached', actions: ['commitPendingQuorum', 'sendPendingReplies'] } },
  on: busy,
});

/** Adopting a newer epoch or a leader: durable before we acknowledge it or act on it. */
export const persistingEpoch = raftSetup.createStateConfig({
  entry: { type: 'setRole', params: { role: 'persisting' } },
  invoke: {
    ...persistPending,
    onDone: [
      { guard: 'pendingLeaderIsOther', target: 'follower', actions: ['commitPendingQuorum', 'sendPendingReplies'] },
      { target: 'unattached', actions: ['commitPendingQuorum', 'sendPendingReplies'] },
    ],
  },
  on: busy,
});
