// Followers and observers pull from the leader (KIP-595): fetch, truncate on a diverging epoch, append durably
// before the next fetch acknowledges it, and advance the high watermark only over what the leader confirmed.
import { and } from 'xstate';
import { raftSetup, update } from '../setup.js';

/** Pull replication (KIP-595): fetch from the leader, truncate on divergence, append, learn the high watermark. */
export const follower = raftSetup.createStateConfig({
  entry: [{ type: 'setRole', params: { role: 'follower' } }, 'markLeaderContact', 'drawFetchTimeoutJitter', 'resetElectionBackoff', 'clearLeaderUnreachable'],
  exit: 'clearLeaderUnreachable',
  // The transport saw the connection to our leader reset. Noted here in every child state (a disk write in flight
  // finishes first); the fetching and idle states then move to `suspecting`.
  on: { 'raft.peer.unreachable': { guard: 'isLeaderReportedUnreachable', actions: 'noteLeaderUnreachable' } },
  initial: 'fetching',
  states: {
    fetching: {
      entry: 'sendFetch',
      always: { guard: 'leaderReportedUnreachable', target: 'suspecting' },
      after: {
        // KIP-595 fetch timeout: a leader silent for fetchTimeoutMs is presumed gone; until then, resend (after the
        // leader's long-poll wait, which it may spend holding our fetch).
        longPollRetry: [
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
            target: 'fetchingSnapshot',
            actions: ['markLeaderContact', 'stageSnapshotFetch'],
          },
          {
            guard: and(['isCurrentFetchResponse', 'fetchHasEntries']),
            target: 'appending',
            actions: update('markLeaderContact', 'stageEntries'),
          },
          // Long-polling, an answer with nothing new comes back when the leader's wait ended: fetch again in this
          // same step (a 0 ms idle timer cost one more scheduler step per fetch, a fifth of an idle quorum's work).
          {
            guard: and(['isCurrentFetchResponse', 'isLongPolling']),
            target: 'fetching',
            reenter: true,
            actions: update('markLeaderContact', 'stageHighWatermark', 'advanceFollowerHighWatermark', 'deliverCommitted'),
          },
          {
            guard: 'isCurrentFetchResponse',
            target: 'idle',
            actions: update('markLeaderContact', 'stageHighWatermark', 'advanceFollowerHighWatermark', 'deliverCommitted'),
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
      entry: 'startFollowerAppend',
      on: { 'raft.log.appended': { guard: 'isCurrentAppend', target: 'fetching', actions: update('advanceFollowerHighWatermark', 'deliverCommitted') } },
    },
    idle: { always: { guard: 'leaderReportedUnreachable', target: 'suspecting' }, after: { fetchIdle: 'fetching' } },
    /**
     * The leader's connection was reset (its process most likely died). We probe it with one more fetch, which makes
     * the transport reconnect; if it answers within a short random delay it was a flap and we carry on, else we start
     * a pre-vote now instead of waiting out the fetch timeout. A pre-vote changes no state, and voters that still
     * hear from the leader refuse it, so a false alarm cannot disrupt the quorum (KIP-996).
     */
    suspecting: {
      entry: ['drawSuspectDelay', 'sendProbeFetch'],
      after: {
        suspectDelay: [
          { guard: 'isVoter', target: '#raft.prospective', actions: 'forgetLeader' },
          { target: '#raft.unattached', actions: 'forgetLeader' },
        ],
      },
      on: {
        'raft.fetch.response': { guard: 'isCurrentFetchResponse', target: 'fetching', actions: ['markLeaderContact', 'clearLeaderUnreachable'] },
      },
    },
    /** KIP-630: our fetch offset is below the leader's log start, so we copy its snapshot chunk by chunk first. */
    fetchingSnapshot: {
      entry: 'sendSnapshotFetch',
      always: { guard: 'leaderReportedUnreachable', target: 'suspecting', actions: 'dropSnapshotFetch' },
      after: {
        fetchRetry: [
          { guard: and(['leaderSilentTooLong', 'isVoter']), target: '#raft.prospective', actions: ['forgetLeader', 'dropSnapshotFetch'] },
          { guard: 'leaderSilentTooLong', target: '#raft.unattached', actions: ['forgetLeader', 'dropSnapshotFetch'] },
          { target: 'fetchingSnapshot', reenter: true },
        ],
      },
      on: {
        'raft.fetch-snapshot.response': [
          // The leader moved to a newer snapshot or the chunk does not continue ours: start over from a fetch.
          { guard: and(['isCurrentSnapshotResponse', 'snapshotFetchFailed']), target: 'fetching', actions: ['markLeaderContact', 'dropSnapshotFetch'] },
          {
            guard: and(['isCurrentSnapshotResponse', 'snapshotComplete']),
            target: 'installingSnapshot',
            actions: ['markLeaderContact', 'recordSnapshotChunk'],
          },
          { guard: 'isCurrentSnapshotResponse', target: 'fetchingSnapshot', reenter: true, actions: ['markLeaderContact', 'recordSnapshotChunk'] },
        ],
      },
    },
    /** The snapshot replaces our log durably before we fetch past it. */
    installingSnapshot: {
      invoke: {
        src: 'installSnapshot',
        input: ({ context }) => ({ ports: context.ports, fetch: context.snapshotFetch }),
        onDone: { target: 'fetching', actions: ['adoptSnapshot', 'deliverCommitted'] },
      },
    },
  },
});
