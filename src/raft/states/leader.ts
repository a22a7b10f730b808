// The leader (KIP-595): durable leadership first, then a LeaderChange record of its own epoch, BeginQuorumEpoch to
// the voters, fetch serving with divergence checks, proposals, the high watermark over voters, and check-quorum.
import { and, not } from 'xstate';
import { raftSetup, update } from '../setup.js';
import { busy, persistPending } from './shared.js';

export const leader = raftSetup.createStateConfig({
  initial: 'persisting',
  states: {
    persisting: {
      entry: [{ type: 'setRole', params: { role: 'persisting' } }, 'stageLeadershipOfSelf'],
      invoke: { ...persistPending, onDone: { target: 'leading', actions: 'commitPendingQuorum' } },
      on: busy,
    },
    leading: {
      type: 'parallel',
      exit: ['dropParkedFetches', 'refuseLingeringProposals'],
      entry: [{ type: 'setRole', params: { role: 'leader' } }, 'becomeLeader', 'appendLeaderChange', { type: 'sendBeginQuorumEpoch', params: { onlyUnfetched: false } }],
      on: {
        'raft.fetch.request': { guard: not('learnsLeadership'), actions: update('serveFetch', 'answerParkedFetches', 'deliverCommitted') },
        'raft.fetch-snapshot.request': { guard: not('learnsLeadership'), actions: 'serveSnapshotChunk' },
        'raft.log.flushed': { guard: 'isCurrentFlush', actions: update('recordFlush', 'answerParkedFetches', 'deliverCommitted') },
        'raft.shutdown': { target: '#raft.resigned', actions: 'sendEndQuorumEpoch' },
      },
      states: {
        /** Voters that have not fetched in this epoch hear BeginQuorumEpoch again (it may have been lost). */
        announcing: {
          initial: 'waiting',
          states: {
            waiting: {
              after: {
                beginQuorumEpochRetry: {
                  target: 'waiting',
                  reenter: true,
                  actions: { type: 'sendBeginQuorumEpoch', params: { onlyUnfetched: true } },
                },
              },
            },
          },
        },
        /** KIP-595 long poll: held fetches are answered when their wait ends (news answers them earlier). */
        parking: {
          initial: 'waiting',
          states: {
            waiting: {
              after: { parkedFetchDue: { target: 'waiting', reenter: true, actions: 'answerParkedFetches' } },
            },
          },
        },
        /**
         * quorum.append.linger.ms: proposals gather for appendLingerMs and go out as one write and one round of fetch
         * answers, trading that much commit latency for fewer writes and messages per proposal under load.
         */
        batching: {
          initial: 'idle',
          states: {
            idle: {
              on: {
                'raft.propose': [
                  { guard: and(['lingersAppends', not('fillsLingerBatch')]), target: 'lingering', actions: 'lingerProposal' },
                  { actions: update('appendProposal', 'answerParkedFetches') },
                ],
              },
            },
            lingering: {
              on: {
                'raft.propose': [
                  { guard: 'fillsLingerBatch', target: 'idle', actions: update('lingerProposal', 'appendLingeringProposals', 'answerParkedFetches') },
                  { actions: 'lingerProposal' },
                ],
              },
              after: { appendLinger: { target: 'idle', actions: update('appendLingeringProposals', 'answerParkedFetches') } },
            },
          },
        },
        /** Check-quorum: a leader cut off from a majority for 1.5 fetch timeouts resigns. */
        checkingQuorum: {
          initial: 'watching',
          states: {
            watching: {
              after: {
                checkQuorum: [
                  { guard: 'hasQuorumContact', target: 'watching', reenter: true, actions: 'scheduleQuorumCheck' },
                  { target: '#raft.resigned', actions: 'sendEndQuorumEpoch' },
                ],
              },
            },
          },
        },
      },
    },
  },
});
