// A restarted node that resumes as the follower of the leader it had persisted reports that leadership to its
// listener. Found by the cluster simulator (known bug "brokers stop knowing the controller", seed 34): broker
// observers restarted into `follower` of the unchanged controller, the listener never heard of it, and the broker's
// metadata follower kept `leaderId: null` forever, so every controller call failed with NOT_CONTROLLER.
import test from 'ava';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { MemoryQuorumStateStore } from '../../src/raft/memory-quorum-store.js';
import { createRaftNode, raftConfig } from '../../src/raft/node.js';
import type { QuorumState } from '../../src/raft/ports.js';
import { SeededRandom, VirtualClock } from './harness.js';

async function restartWith(nodeId: number, persisted: QuorumState): Promise<{ changes: Array<{ epoch: number; leaderId: number | null }>; role: string }> {
  const clock = new VirtualClock();
  const changes: Array<{ epoch: number; leaderId: number | null }> = [];
  const node = createRaftNode({
    config: raftConfig(nodeId, [1, 2, 3]),
    clock,
    random: new SeededRandom(7),
    log: new MemoryRaftLog(),
    store: new MemoryQuorumStateStore(persisted),
    // Nothing answers: the node must learn its leader from its own durable state alone.
    send: () => {},
    listener: { onLeaderChange: (change) => changes.push(change) },
  });
  node.start();
  await clock.advanceTo(10);
  const role = node.status().role;
  node.stop();
  return { changes, role };
}

test('raft: an observer restarted as the follower of its persisted leader reports that leader to its listener', async (t) => {
  const { changes, role } = await restartWith(4, { epoch: 3, votedFor: null, leaderId: 2 });
  t.is(role, 'follower');
  t.deepEqual(changes, [{ epoch: 3, leaderId: 2 }]);
});

test('raft: a voter restarted as a follower reports its persisted leader too', async (t) => {
  const { changes, role } = await restartWith(1, { epoch: 5, votedFor: 2, leaderId: 2 });
  t.is(role, 'follower');
  t.deepEqual(changes, [{ epoch: 5, leaderId: 2 }]);
});

test('raft: a former leader restarts without a leader and reports only its epoch', async (t) => {
  const { changes, role } = await restartWith(1, { epoch: 5, votedFor: 1, leaderId: 1 });
  t.is(role, 'unattached');
  t.deepEqual(changes, [{ epoch: 5, leaderId: null }]);
});

test('raft: a fresh node (epoch 0, no leader) reports nothing on start', async (t) => {
  const { changes } = await restartWith(4, { epoch: 0, votedFor: null, leaderId: null });
  t.deepEqual(changes, []);
});
