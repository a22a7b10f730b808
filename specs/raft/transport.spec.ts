// The Raft transport over the REAL network on 127.0.0.1, with the durable log and quorum store on a real temporary
// disk and the real clock: three nodes elect a leader, commit proposals on every node, and elect a new leader when the
// leader's node stops. Timeouts are short and every wait is bounded; everything started is stopped.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskQuorumStateStore } from '../../src/raft/disk-quorum-store.js';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { MemoryQuorumStateStore } from '../../src/raft/memory-quorum-store.js';
import { AddressInUseError } from '../../src/runtime/errors.js';
import { raftConfig } from '../../src/raft/node.js';
import type { NodeId } from '../../src/raft/ports.js';
import { metadataLogDir, openRaftStorageLog, type StorageRaftLog } from '../../src/raft/storage-log.js';
import { createNetworkedRaftNode, createRaftTransport, type NetworkedRaftNode } from '../../src/raft/transport.js';
import { createRealDisk, createRealNetwork, createRealRandom, realClock } from '../../src/runtime/real/index.js';
import type { RaftMessage } from '../../src/wire/raft.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { delay } from '../helpers/async.js';

const voters = [1, 2, 3];
const fastConfig = {
  electionTimeoutMs: 150,
  fetchTimeoutMs: 300,
  electionBackoffMaxMs: 100,
  retryBackoffMs: 10,
  fetchIdleMs: 10,
  beginQuorumEpochRetryMs: 100,
  observerDiscoveryMs: 100,
  fetchRetryMs: 100,
};

/** Polls `check` every 10 ms until it returns a value, failing after `ms`. */
async function waitFor<T>(ms: number, what: string, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

interface Member {
  id: NodeId;
  networked: NetworkedRaftNode;
  log: StorageRaftLog;
  committed: string[];
  stopped: boolean;
}

test('transport: three nodes over 127.0.0.1 elect a leader, commit proposals everywhere, and fail over when the leader stops', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'raftline-raft-transport-'));
  const disk = createRealDisk(root);
  const peers = new Map<NodeId, string>();
  const members: Member[] = [];
  try {
    const startMember = async (id: NodeId, listen: { host: string; port: number }): Promise<Member> => {
      const log = await openRaftStorageLog({ disk, dir: metadataLogDir(`node-${id}`), clock: realClock });
      const committed: string[] = [];
      const networked = await createNetworkedRaftNode({
        config: raftConfig(id, voters, fastConfig),
        clock: realClock,
        random: createRealRandom(),
        log,
        store: new DiskQuorumStateStore({ disk, dir: metadataLogDir(`node-${id}`) }),
        network: createRealNetwork(),
        peers,
        listen,
        listener: {
          onCommit: (entries) => {
            for (const entry of entries) if (entry.record.type === 'data') committed.push(new TextDecoder().decode(entry.record.data));
          },
        },
      });
      peers.set(id, networked.listener!.address);
      return { id, networked, log, committed, stopped: false };
    };
    for (const id of voters) members.push(await startMember(id, { host: '127.0.0.1', port: 0 }));
    for (const m of members) m.networked.node.start();

    const live = (): Member[] => members.filter((m) => !m.stopped);
    const agreedLeader = (): Member | undefined => {
      const leaders = live().filter((m) => m.networked.node.status().role === 'leader');
      if (leaders.length !== 1) return undefined;
      const leader = leaders[0]!;
      const { epoch } = leader.networked.node.status();
      const followersKnow = live().every((m) => m.networked.node.status().leaderId === leader.id && m.networked.node.status().epoch === epoch);
      return followersKnow ? leader : undefined;
    };

    const first = await waitFor(10_000, 'a first leader every node knows', agreedLeader);
    const firstEpoch = first.networked.node.status().epoch;
    for (let i = 0; i < 20; i++) {
      const result = await first.networked.node.propose([new TextEncoder().encode(`a${i}`)]);
      t.true(result.ok, `proposal a${i} accepted: ${JSON.stringify(result)}`);
    }
    const expectedA = Array.from({ length: 20 }, (_, i) => `a${i}`);
    await waitFor(10_000, 'every node to commit the first proposals', () => (members.every((m) => m.committed.length >= 20) ? true : undefined));
    for (const m of members) t.deepEqual(m.committed, expectedA, `node ${m.id} committed the proposals in order`);
    t.true(first.networked.transport.stats().sent > 0 && first.networked.transport.stats().rejected === 0);

    // The leader's node goes away (a crash, as far as Raft is concerned): the other two elect a new leader.
    first.stopped = true;
    await first.networked.stop();
    const second = await waitFor(10_000, 'a new leader among the survivors', agreedLeader);
    t.not(second.id, first.id);
    t.true(second.networked.node.status().epoch > firstEpoch, 'the new leader leads a later epoch');
    for (let i = 0; i < 5; i++) {
      const result = await second.networked.node.propose([new TextEncoder().encode(`b${i}`)]);
      t.true(result.ok, `proposal b${i} accepted: ${JSON.stringify(result)}`);
    }
    const expected = [...expectedA, ...Array.from({ length: 5 }, (_, i) => `b${i}`)];
    await waitFor(10_000, 'the survivors to commit the new proposals', () => (live().every((m) => m.committed.length >= 25) ? true : undefined));
    for (const m of live()) t.deepEqual(m.committed, expected, `node ${m.id} committed everything in order`);
    // What was committed is on disk: the survivors' logs hold every proposal after the first leader's entries.
    for (const m of live()) t.true(m.log.endOffset() >= 25, `node ${m.id} log holds the entries`);

    // The first node restarts from its disk at its old address: it keeps its log and epoch, rejoins as a follower of
    // the new leader, and commits everything, including what it missed while it was down.
    await first.log.close();
    const address = peers.get(first.id)!;
    const restarted = await startMember(first.id, { host: '127.0.0.1', port: Number(address.slice(address.lastIndexOf(':') + 1)) });
    t.true(restarted.log.endOffset() >= 20, 'the restarted node recovered its log from disk');
    members.push(restarted);
    restarted.networked.node.start();
    await waitFor(10_000, 'the restarted node to catch up', () => (restarted.committed.length >= 25 ? true : undefined));
    t.deepEqual(restarted.committed, expected);
    t.is(restarted.networked.node.status().leaderId, second.id);
  } finally {
    for (const m of members) if (!m.stopped) await m.networked.stop();
    for (const m of members) await m.log.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
});

/** Transport a (node 1, fast reconnects) sending to node 2 at an address where nothing listens until `listenB()`. */
async function pairWithAbsentPeer(options: { queuedMaxAgeMs?: number } = {}) {
  const network = createRealNetwork();
  const peers = new Map<NodeId, string>();
  const received: RaftMessage[] = [];
  const a = createRaftTransport({ nodeId: 1, network, clock: realClock, peers, reconnectMsMin: 20, reconnectMsMax: 40, ...options });
  const b = createRaftTransport({ nodeId: 2, network, clock: realClock, peers });
  b.setReceiver((message) => received.push(message));
  const probe = await network.listen({ host: '127.0.0.1', port: 0 }, () => {});
  const address = probe.address;
  await probe.close();
  peers.set(2, address);
  const listenB = () => b.listen({ host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) });
  return { network, received, a, b, address, listenB };
}

test('transport: a message to a peer that is not up yet is queued and delivered once it listens; bad or forged frames never reach Raft', async (t) => {
  // Nothing listens at the peer's address yet: the message waits in the queue while the transport retries.
  const { network, received, a, b, address, listenB } = await pairWithAbsentPeer();
  try {
    const vote: RaftMessage = {
      type: 'raft.vote.request',
      from: 1,
      correlationId: 7,
      body: { candidateEpoch: 3, candidateId: 1, lastOffsetEpoch: 2, lastOffset: 10, preVote: false },
    };
    a.send(2, vote);
    await delay(100);
    t.is(received.length, 0);
    await listenB();
    await waitFor(5_000, 'the queued vote request', () => (received.length > 0 ? true : undefined));
    t.deepEqual(received, [vote]);
    t.true(a.stats().connects >= 2, 'the transport reconnected after the first refusal');

    // A frame of the right api with a bad body, and plain garbage, are rejected at the edge.
    const raw = await new Promise<import('../../src/runtime/network.js').Connection>((resolve) => {
      const connection = network.connect(address, { onOpen: () => resolve(connection) });
    });
    raw.send(wireRegistry.encodeEvent('raft.vote.request', { from: 1, correlationId: 1, body: { candidateEpoch: -1 } } as never));
    // A well-formed message claiming to come from the receiver itself could only make it answer itself.
    raw.send(wireRegistry.encodeEvent('raft.vote.request', { from: 2, correlationId: 2, body: vote.body }));
    raw.send(Uint8Array.of(0xff, 0x00, 0x13));
    await waitFor(5_000, 'the three bad frames to be rejected', () => (b.stats().rejected >= 3 ? true : undefined));
    t.is(received.length, 1, 'nothing invalid reached the receiver');
    raw.close();
  } finally {
    await a.close();
    await b.close();
  }
});

test('transport: a message that waited too long for its peer to come up is dropped, a fresh one is delivered', async (t) => {
  const { received, a, b, listenB } = await pairWithAbsentPeer({ queuedMaxAgeMs: 150 });
  try {
    const vote = (correlationId: number): RaftMessage => ({
      type: 'raft.vote.request',
      from: 1,
      correlationId,
      body: { candidateEpoch: 3, candidateId: 1, lastOffsetEpoch: 2, lastOffset: 10, preVote: false },
    });
    a.send(2, vote(1));
    await delay(400);
    a.send(2, vote(2));
    await listenB();
    await waitFor(5_000, 'the fresh vote request', () => (received.length > 0 ? true : undefined));
    await delay(50);
    t.deepEqual(received.map((m) => m.correlationId), [2], 'only the message queued less than 150 ms ago arrives');
    t.true(a.stats().dropped >= 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('transport: a node whose listen address is taken fails to start and leaves nothing running', async (t) => {
  const network = createRealNetwork();
  const taken = await network.listen({ host: '127.0.0.1', port: 0 }, (connection) => connection.close());
  try {
    const port = Number(taken.address.slice(taken.address.lastIndexOf(':') + 1));
    await t.throwsAsync(
      createNetworkedRaftNode({
        config: raftConfig(1, voters, fastConfig),
        clock: realClock,
        random: createRealRandom(),
        log: new MemoryRaftLog(),
        store: new MemoryQuorumStateStore(),
        network,
        peers: new Map(),
        listen: { host: '127.0.0.1', port },
      }),
      { instanceOf: AddressInUseError },
    );
  } finally {
    await taken.close();
  }
});

test('transport: a peer whose connection is closed from its end or refused is reported unreachable; our own close is not', async (t) => {
  const network = createRealNetwork();
  const peers = new Map<NodeId, string>();
  const reports: NodeId[] = [];
  const a = createRaftTransport({ nodeId: 1, network, clock: realClock, peers, reconnectMsMin: 20, reconnectMsMax: 40 });
  const b = createRaftTransport({ nodeId: 2, network, clock: realClock, peers });
  a.setUnreachableReceiver((peer) => reports.push(peer));
  const received: RaftMessage[] = [];
  b.setReceiver((message) => received.push(message));
  try {
    const listener = await b.listen({ host: '127.0.0.1', port: 0 });
    peers.set(2, listener.address);
    const ping: RaftMessage = {
      type: 'raft.begin-quorum-epoch.request',
      from: 1,
      correlationId: 0,
      body: { leaderEpoch: 1, leaderId: 1 },
    };
    a.send(2, ping);
    await waitFor(5_000, 'the message over a fresh connection', () => (received.length > 0 ? true : undefined));
    t.deepEqual(reports, [], 'a healthy connection reports nothing');
    // The peer goes away: its end closes the connection, and the reconnects are refused.
    await b.close();
    await waitFor(5_000, 'the unreachable report', () => (reports.length > 0 ? true : undefined));
    t.true(reports.every((peer) => peer === 2));
    await a.close();
    const after = reports.length;
    await delay(100);
    t.is(reports.length, after, 'nothing is reported once we closed the transport ourselves');
  } finally {
    await a.close();
    await b.close();
  }
});
