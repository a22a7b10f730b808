// The KRaft quorum chart (KIP-595 with KIP-996 pre-vote): one machine per node, voter or observer. It keeps Raft's
// safety in the chart itself: every quorum-state change that a reply depends on passes through a persisting state
// (an invoked write, then `xstate.done.actor.*`) before the reply goes out, so a crash in between loses only the reply.
import { and } from 'xstate';
import { raftSetup } from './setup.js';
import { candidate, prospective, resigned, unattached } from './states/election.js';
import { follower } from './states/follower.js';
import { leader } from './states/leader.js';
import { loading, persistingEpoch, persistingVote } from './states/persisting.js';

export const raftMachineId = 'raft';

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
    // Started from the clock, so a restarted incarnation does not reuse its predecessor's ids and late answers to those
    // rarely match ours (the epoch checks in the guards are what make a stray match harmless). Not from the seeded
    // random source: a draw here would shift every later draw of the node.
    nextCorrelationId: 1 + (Math.floor(input.ports.clock.now()) % 2 ** 30),
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
    parkedFetches: [],
    lingeringProposals: [],
    lingeringRecords: 0,
    leaderContactMs: 0,
    fetchedEntries: [],
    fetchedHighWatermark: 0,
    fetchTimeoutJitterMs: 0,
    leaderUnreachable: false,
    suspectDelayMs: 0,
    snapshotFetch: null,
    truncateOffset: 0,
    appendId: 0,
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
    'raft.log.failed': { actions: 'failOnLogError' },
  },
  states: {
    loading,
    persistingVote,
    persistingEpoch,
    unattached,
    prospective,
    candidate,
    leader,
    follower,
    resigned,
  },
});

export type RaftMachine = typeof raftMachine;
