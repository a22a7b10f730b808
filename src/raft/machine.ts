// The KRaft quorum chart (KIP-595 with KIP-996 pre-vote): one machine per node, voter or observer. It keeps Raft's
// safety in the chart itself: every quorum-state change that a reply depends on passes through a persisting state
// (an invoked write, then `xstate.done.actor.*`) before the reply goes out, so a crash in between loses only the reply.
import { and, not } from 'xstate';
import { raftMessageTypes, raftSetup } from './setup.js';

export const raftMachineId = 'raft';

/** While a write is in flight the node neither answers nor changes course: dropped messages are retried by peers. */
const busy = {
  ...Object.fromEntries(raftMessageTypes.map((type) => [type, { actions: 'dropWhileBusy' as const }])),
  'raft.propose': { actions: 'rejectProposal' as const },
  'raft.shutdown': {},
  'raft.log.flushed': {},
};

/** Writes the pending quorum state; on completion the node adopts it and sends what waited for it. */
const persistPending = {
  src: 'persistQuorumState',
  input: ({ context }: { context: { ports: import('./ports.js').RaftPorts; pendingQuorum: import('./ports.js').QuorumState | null } }) => ({
    ports: context.ports,
    state: context.pendingQuorum,
  }),
} as const;

export const raftMachine = raftSetup.createMachine({
  id: raftMachineId,
  context: ({ input }) => ({
    config: input.config,
    ports: input.ports,
    isVoter: input.config.voters.includes(input.config.nodeId),
    role: 'loading',
    quorum: { epoch: 0, votedFor: null, leaderId: null },
    pendingQuorum: null,
    pendingReplies: [],
    highWatermark: 0,
    appliedOffset: 0,
    nextCorrelationId: 1,
    roundCorrelationId: 0,
    granted: [],
    rejected: [],
    failedElections: 0,
    electionDelayMs: input.config.electionTimeoutMs,
    electionDelayOverrideMs: null,
    lostLeader: null,
    epochStartOffset: 0,
    leaderSinceMs: 0,
    flushedEndOffset: 0,
    replicas: {},
    checkQuorumDelayMs: input.config.fetchTimeoutMs,
    leaderContactMs: 0,
    fetchedEntries: [],
    fetchedHighWatermark: 0,
    truncateOffset: 0,
  }),
  initial: 'loading',
  // Handlers every state shares; a child state's own handler wins when its guard passes.
  on: {
    'raft.vote.request': [
      { guard: 'voteNeedsPersistedGrant', target: '.persistingVote', actions: 'stageVote' },
      { guard: 'voteNeedsPersistedEpoch', target: '.persistingEpoch', actions: 'stageVote' },
      { actions: 'replyToVote' },
    ],
    'raft.vote.response': { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
    'raft.begin-quorum-epoch.request': [
      { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
      { actions: 'replyToBeginQuorumEpoch' },
    ],
    'raft.begin-quorum-epoch.response': { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
    'raft.end-quorum-epoch.request': [
      { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
      {
        guard: and(['isResigningLeader', 'isVoter']),
        target: '.unattached',
        actions: ['replyToEndQuorumEpoch', 'scheduleEarlyElection', 'forgetLeader'],
      },
      { actions: 'replyToEndQuorumEpoch' },
    ],
    'raft.end-quorum-epoch.response': { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
    'raft.fetch.request': [
      { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
      { actions: 'refuseFetch' },
    ],
    'raft.fetch.response': { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
    'raft.fetch-snapshot.request': [
      { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
      { actions: 'refuseFetch' },
    ],
    'raft.fetch-snapshot.response': { guard: 'learnsLeadership', target: '.persistingEpoch', actions: 'stageLeadership' },
    'raft.propose': { actions: 'rejectProposal' },
  },
  states: {
    loading: {
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
    },

    /** Granting a vote: the vote is durable before the candidate hears "granted" (at most one vote per epoch). */
    persistingVote: {
      entry: { type: 'setRole', params: { role: 'persisting' } },
      invoke: { ...persistPending, onDone: { target: 'unattached', actions: ['commitPendingQuorum', 'sendPendingReplies'] } },
      on: busy,
    },

    /** Adopting a newer epoch or a leader: durable before we acknowledge it or act on it. */
    persistingEpoch: {
      entry: { type: 'setRole', params: { role: 'persisting' } },
      invoke: {
        ...persistPending,
        onDone: [
          { guard: 'pendingLeaderIsOther', target: 'follower', actions: ['commitPendingQuorum', 'sendPendingReplies'] },
          { target: 'unattached', actions: ['commitPendingQuorum', 'sendPendingReplies'] },
        ],
      },
      on: busy,
    },

    /** No leader known. A voter waits an election timeout, then tries a pre-vote; an observer looks for the leader. */
    unattached: {
      entry: [{ type: 'setRole', params: { role: 'unattached' } }, 'drawElectionDelay', 'sendDiscoveryFetch'],
      after: {
        electionDelay: [
          { guard: 'isVoter', target: 'prospective' },
          { target: 'unattached', reenter: true },
        ],
      },
    },

    /** KIP-996 pre-vote: ask whether we could win before bumping the epoch, so a returning node cannot disrupt. */
    prospective: {
      entry: [
        { type: 'setRole', params: { role: 'prospective' } },
        'drawElectionDelay',
        'startRound',
        { type: 'requestVotes', params: { preVote: true } },
      ],
      always: { guard: 'hasMajority', target: 'candidate' },
      on: { 'raft.vote.response': { guard: 'isRoundVoteResponse', actions: 'recordVote' } },
      after: { electionDelay: { target: 'prospective', reenter: true, actions: 'countFailedElection' } },
    },

    /** Raft §5.2: bump the epoch and vote for ourselves (durably), then ask the others. */
    candidate: {
      initial: 'persisting',
      states: {
        persisting: {
          entry: [{ type: 'setRole', params: { role: 'persisting' } }, 'stageCandidacy'],
          invoke: { ...persistPending, onDone: { target: 'campaigning', actions: 'commitPendingQuorum' } },
          on: busy,
        },
        campaigning: {
          entry: [
            { type: 'setRole', params: { role: 'candidate' } },
            'drawElectionDelay',
            'startRound',
            { type: 'requestVotes', params: { preVote: false } },
          ],
          always: { guard: 'hasMajority', target: '#raft.leader' },
          on: { 'raft.vote.response': { guard: 'isRoundVoteResponse', actions: 'recordVote' } },
          after: { electionDelay: { target: '#raft.prospective', actions: 'countFailedElection' } },
        },
      },
    },

    leader: {
      initial: 'persisting',
      states: {
        persisting: {
          entry: [{ type: 'setRole', params: { role: 'persisting' } }, 'stageLeadershipOfSelf'],
          invoke: { ...persistPending, onDone: { target: 'leading', actions: 'commitPendingQuorum' } },
          on: busy,
        },
        leading: {
          type: 'parallel',
          entry: [{ type: 'setRole', params: { role: 'leader' } }, 'becomeLeader', 'appendLeaderChange', { type: 'sendBeginQuorumEpoch', params: { onlyUnfetched: false } }],
          on: {
            'raft.fetch.request': { guard: not('learnsLeadership'), actions: ['serveFetch', 'deliverCommitted'] },
            'raft.propose': { actions: 'appendProposal' },
            'raft.log.flushed': { guard: 'isCurrentFlush', actions: ['recordFlush', 'deliverCommitted'] },
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
    },

    /** Pull replication (KIP-595): fetch from the leader, truncate on divergence, append, learn the high watermark. */
    follower: {
      entry: [{ type: 'setRole', params: { role: 'follower' } }, 'markLeaderContact'],
      initial: 'fetching',
      states: {
        fetching: {
          entry: 'sendFetch',
          after: {
            // KIP-595 fetch timeout: a leader silent for fetchTimeoutMs is presumed gone; until then, resend.
            fetchRetry: [
              { guard: and(['leaderSilentTooLong', 'isVoter']), target: '#raft.prospective', actions: 'forgetLeader' },
              { guard: 'leaderSilentTooLong', target: '#raft.unattached', actions: 'forgetLeader' },
              { target: 'fetching', reenter: true },
            ],
          },
          on: {
            'raft.fetch.response': [
              { guard: and(['isCurrentFetchResponse', 'fetchFailed']), target: '#raft.unattached', actions: 'forgetLeader' },
              {
                guard: and(['isCurrentFetchResponse', 'fetchDiverged']),
                target: 'truncating',
                actions: ['markLeaderContact', 'stageTruncation'],
              },
              {
                guard: and(['isCurrentFetchResponse', 'fetchNeedsSnapshot']),
                target: 'idle',
                actions: ['markLeaderContact', 'logUnsupportedSnapshot'],
              },
              {
                guard: and(['isCurrentFetchResponse', 'fetchHasEntries']),
                target: 'appending',
                actions: ['markLeaderContact', 'stageEntries'],
              },
              {
                guard: 'isCurrentFetchResponse',
                target: 'idle',
                actions: ['markLeaderContact', 'stageHighWatermark', 'advanceFollowerHighWatermark', 'deliverCommitted'],
              },
            ],
          },
        },
        truncating: {
          invoke: {
            src: 'truncateLog',
            input: ({ context }) => ({ ports: context.ports, offset: context.truncateOffset }),
            onDone: { target: 'fetching' },
          },
        },
        /** The next fetch (which acknowledges these entries) goes out only once they are durable. */
        appending: {
          invoke: {
            src: 'appendLog',
            input: ({ context }) => ({ ports: context.ports, entries: context.fetchedEntries }),
            onDone: { target: 'fetching', actions: ['advanceFollowerHighWatermark', 'deliverCommitted'] },
          },
        },
        idle: { after: { fetchIdle: 'fetching' } },
      },
    },

    /** A leader that stepped down (shutdown or lost quorum): it waits an election timeout before trying again. */
    resigned: {
      entry: [{ type: 'setRole', params: { role: 'resigned' } }, 'forgetLeader', 'drawElectionDelay'],
      after: { electionDelay: { target: 'prospective' } },
    },
  },
});

export type RaftMachine = typeof raftMachine;
