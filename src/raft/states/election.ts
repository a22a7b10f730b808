// The election states of a voter (observers only ever use `unattached`): waiting for a leader, KIP-996 pre-vote,
// candidacy (Raft §5.2, with the epoch and self-vote durable before any vote request), and resignation.
import { raftSetup } from '../setup.js';
import { busy, persistPending } from './shared.js';

/**
 * No leader known. A voter waits an election timeout, then tries a pre-vote; an observer looks for the leader. The
 * only voter of its quorum has nobody to wait for or to split a vote with, so it runs at once (as KRaft does).
 */
export const unattached = raftSetup.createStateConfig({
  entry: [{ type: 'setRole', params: { role: 'unattached' } }, 'drawElectionDelay', 'sendDiscoveryFetch'],
  always: { guard: 'isSoleVoter', target: 'prospective' },
  after: {
    electionDelay: [
      { guard: 'isVoter', target: 'prospective' },
      { target: 'unattached', reenter: true },
    ],
  },
});

/** KIP-996 pre-vote: ask whether we could win before bumping the epoch, so a returning node cannot disrupt. */
export const prospective = raftSetup.createStateConfig({
  entry: [
    { type: 'setRole', params: { role: 'prospective' } },
    'drawElectionDelay',
    'startRound',
    { type: 'requestVotes', params: { preVote: true } },
  ],
  always: { guard: 'hasMajority', target: 'candidate' },
  on: { 'raft.vote.response': { guard: 'isRoundVoteResponse', actions: 'recordVote' } },
  after: { electionDelay: { target: 'prospective', reenter: true, actions: 'countFailedElection' } },
});

/** Raft §5.2: bump the epoch and vote for ourselves (durably), then ask the others. */
export const candidate = raftSetup.createStateConfig({
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
});

/** A leader that stepped down (shutdown or lost quorum): it waits an election timeout before trying again. */
export const resigned = raftSetup.createStateConfig({
  entry: [{ type: 'setRole', params: { role: 'resigned' } }, 'forgetLeader', 'drawElectionDelay'],
  after: { electionDelay: { target: 'prospective' } },
});
