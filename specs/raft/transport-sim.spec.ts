// The same transport, unchanged, on the simulator's network and virtual clock, with the durable log and quorum store
// on SimDisk: over lossy, duplicating, reordering links, three nodes elect a leader, commit proposals on every node,
// and fail over when the leader's host crashes. Deterministic: one seed, bounded virtual time.
import test from 'ava';
import { DiskQuorumStateStore } from '../../src/raft/disk-quorum-store.js';
import { raftConfig } from '../../src/raft/node.js';
import type { NodeId } from '../../src/raft/ports.js';
import { metadataLogDir, openRaftStorageLog } from '../../src/raft/storage-log.js';
import { createNetworkedRaftNode, type NetworkedRaftNode } from '../../src/raft/transport.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { SimNetwork } from '../../sim/runtime/sim-network.js';
import { VirtualClock, type TimerOwner } from '../../sim/runtime/virtual-clock.js';
import { Trace } from '../../sim/trace.js';

const voters = [1, 2, 3];

test('transport on the simulated network: lossy links, a leader elected, proposals committed, failover after a host crash', async (t) => {
  const random = createSeededRandom(42);
  const clock = new VirtualClock();
  const trace = new Trace(() => clock.nowMs());
  const network = new SimNetwork({ clock, random: random.split('net'), trace, link: { loss: 0.05, duplicate: 0.05, reorder: 0.05 } });
  const peers = new Map<NodeId, string>(voters.map((id) => [id, `n${id}:9093`]));
  const owners = new Map<NodeId, TimerOwner>();
  const nodes = new Map<NodeId, NetworkedRaftNode>();
  const committed = new Map<NodeId, string[]>();

  /** Runs the scheduler until `done` holds or `limitMs` of virtual time has passed; promise jobs settle between timers. */
  async function runUntil(limitMs: number, done: () => boolean): Promise<boolean> {
    const end = clock.nowMs() + limitMs;
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (done()) return true;
      const next = clock.takeNext(end);
      if (next === undefined) return done();
      next.fn();
    }
  }

  for (const id of voters) {
    const owner: TimerOwner = { nodeId: `n${id}`, incarnation: 0, pausedUntilMs: 0, skewMs: 0 };
    owners.set(id, owner);
    const nodeClock = clock.viewFor(owner);
    const disk = new SimDisk({ random: random.split(`disk-${id}`) });
    const dir = metadataLogDir(`node-${id}`);
    const log = await openRaftStorageLog({ disk, dir, clock: nodeClock });
    committed.set(id, []);
    const node = await createNetworkedRaftNode({
      config: raftConfig(id, voters),
      clock: nodeClock,
      random: random.split(`raft-${id}`),
      log,
      store: new DiskQuorumStateStore({ disk, dir }),
      network: network.viewFor({ host: `n${id}`, owner }),
      peers,
      listen: { host: `n${id}`, port: 9093 },
      listener: {
        onCommit: (entries) => {
          for (const e of entries) if (e.record.type === 'data') committed.get(id)!.push(new TextDecoder().decode(e.record.data));
        },
      },
    });
    nodes.set(id, node);
  }
  for (const node of nodes.values()) node.node.start();

  const alive = new Set(voters);
  const leader = (): NodeId | undefined => {
    const leaders = [...alive].filter((id) => nodes.get(id)!.node.status().role === 'leader');
    if (leaders.length !== 1) return undefined;
    const id = leaders[0]!;
    const epoch = nodes.get(id)!.node.status().epoch;
    return [...alive].every((n) => nodes.get(n)!.node.status().leaderId === id && nodes.get(n)!.node.status().epoch === epoch) ? id : undefined;
  };

  t.true(await runUntil(30_000, () => leader() !== undefined), 'a leader within 30 s of virtual time');
  const first = leader()!;
  const results: boolean[] = [];
  for (let i = 0; i < 10; i++) void nodes.get(first)!.node.propose([new TextEncoder().encode(`p${i}`)]).then((r) => results.push(r.ok));
  t.true(await runUntil(30_000, () => voters.every((id) => committed.get(id)!.length >= 10)), 'every node commits');
  t.deepEqual(results, Array(10).fill(true));
  for (const id of voters) t.deepEqual(committed.get(id), Array.from({ length: 10 }, (_, i) => `p${i}`));
  t.true(nodes.get(first)!.transport.stats().sent > 0);

  // The leader's host loses power: its timers die, its sockets vanish; the others elect a new leader.
  owners.get(first)!.incarnation++;
  network.hostCrashed(`n${first}`);
  nodes.get(first)!.node.stop();
  alive.delete(first);
  t.true(await runUntil(60_000, () => leader() !== undefined), 'a new leader within 60 s of virtual time');
  const second = leader()!;
  t.not(second, first);
  void nodes.get(second)!.node.propose([new TextEncoder().encode('after')]);
  t.true(await runUntil(30_000, () => [...alive].every((id) => committed.get(id)!.at(-1) === 'after')), 'the survivors commit after failover');
  for (const id of alive) await nodes.get(id)!.stop();
});
