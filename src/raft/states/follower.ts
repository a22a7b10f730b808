// Followers and observers pull from the leader (KIP-595): fetch, truncate on a diverging epoch, append durably
// before the next fetch acknowledges it, and advance the high watermark only over what the leader confirmed.
import { and } from 'xstate';
import { raftSetup } from '../setup.js';

/** Pull replication (KIP-595): fetch from the leader, truncate on divergence, append, learn the high watermark. */
export const follower = raftSetup.createStateConfig({
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
});
