// quorum.append.linger.ms (src/raft/states/leader.ts `batching`): with appendLingerMs > 0 the leader gathers proposals
// and appends them as one write, so one round of fetch answers carries several; each waits at most the linger.
import test from 'ava';
import type { ProposeResult } from '../../src/raft/ports.js';
import { Cluster } from './harness.js';

async function settled(config = {}): Promise<{ cluster: Cluster; leader: number }> {
  const cluster = new Cluster({ seed: 5, voters: 3, trace: false, netLatencyMs: [1, 3], config });
  await cluster.tick(3000);
  const leader = cluster.leader();
  if (leader === null) throw new Error('no leader after 3 s');
  return { cluster, leader: leader.id };
}

function proposeAt(cluster: Cluster, id: number, data: string, results: ProposeResult[]): void {
  const node = cluster.member(id).node;
  if (node === null) throw new Error(`n${id} is down`);
  void node.propose([new TextEncoder().encode(data)]).then((r) => results.push(r));
}

test('append linger: proposals within the linger are appended together, in order, once it has passed', async (t) => {
  const { cluster, leader } = await settled({ appendLingerMs: 25 });
  const results: ProposeResult[] = [];
  const end = cluster.member(leader).node!.status().endOffset;
  proposeAt(cluster, leader, 'a', results);
  await cluster.tick(10);
  proposeAt(cluster, leader, 'b', results);
  proposeAt(cluster, leader, 'c', results);
  await cluster.tick(10);
  t.deepEqual(results, [], 'nothing is appended while the linger runs');
  t.is(cluster.member(leader).node!.status().endOffset, end);
  await cluster.tick(10);
  t.deepEqual(
    results.map((r) => (r.ok ? [r.baseOffset, r.lastOffset] : r.code)),
    [
      [end, end],
      [end + 1, end + 1],
      [end + 2, end + 2],
    ],
  );
  await cluster.tick(30);
  for (const id of cluster.voterIds) t.deepEqual(cluster.logOf(id).slice(-3), [`${end}@${results[0]?.epoch} "a"`, `${end + 1}@${results[0]?.epoch} "b"`, `${end + 2}@${results[0]?.epoch} "c"`]);
  t.true(cluster.converged());
  t.deepEqual(cluster.failures, []);
});

test('append linger: under load it takes fewer fetches per proposal than appending each at once', async (t) => {
  const fetchesFor = async (appendLingerMs: number): Promise<{ fetches: number; committed: number }> => {
    const { cluster, leader } = await settled({ appendLingerMs });
    const before = cluster.sentByType.get('raft.fetch.request') ?? 0;
    const results: ProposeResult[] = [];
    for (let i = 0; i < 50; i++) {
      proposeAt(cluster, leader, `p${i}`, results);
      await cluster.tick(5);
    }
    await cluster.tick(200);
    t.true(results.every((r) => r.ok));
    t.true(cluster.converged());
    t.deepEqual(cluster.failures, []);
    return { fetches: (cluster.sentByType.get('raft.fetch.request') ?? 0) - before, committed: cluster.committedCount() };
  };
  const immediate = await fetchesFor(0);
  const lingering = await fetchesFor(25);
  t.log(`50 proposals 5 ms apart: ${immediate.fetches} fetches appending at once, ${lingering.fetches} with a 25 ms linger`);
  t.is(lingering.committed, immediate.committed);
  t.true(lingering.fetches * 2 < immediate.fetches, `${lingering.fetches} vs ${immediate.fetches} fetches`);
});

test('append linger: a leader that resigns while proposals linger refuses them; none is written', async (t) => {
  const { cluster, leader } = await settled({ appendLingerMs: 25 });
  const results: ProposeResult[] = [];
  const end = cluster.member(leader).node!.status().endOffset;
  proposeAt(cluster, leader, 'late', results);
  await cluster.tick(5);
  cluster.member(leader).node!.resign();
  await cluster.tick(1);
  t.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.code)),
    ['NOT_LEADER_OR_FOLLOWER'],
  );
  t.is(cluster.member(leader).log.endOffset(), end);
  await cluster.tick(3000);
  for (const id of cluster.voterIds) t.false(cluster.logOf(id).some((e) => e.endsWith('"late"')));
  t.deepEqual(cluster.failures, []);
});

test('append linger: a lingering batch that reaches one fetch answer of records is appended at once', async (t) => {
  const { cluster, leader } = await settled({ appendLingerMs: 500 });
  const node = cluster.member(leader).node!;
  const end = node.status().endOffset;
  const results: ProposeResult[] = [];
  void node.propose(Array.from({ length: 300 }, () => new Uint8Array([1]))).then((r) => results.push(r));
  void node.propose(Array.from({ length: 300 }, () => new Uint8Array([2]))).then((r) => results.push(r));
  await cluster.tick(1);
  t.deepEqual(
    results.map((r) => (r.ok ? [r.baseOffset, r.lastOffset] : r.code)),
    [
      [end, end + 299],
      [end + 300, end + 599],
    ],
  );
  t.is(node.status().endOffset, end + 600);
  // A proposal as large as a batch does not linger alone either.
  void node.propose(Array.from({ length: 512 }, () => new Uint8Array([3]))).then((r) => results.push(r));
  await cluster.tick(1);
  t.is(results.length, 3);
  t.is(node.status().endOffset, end + 1112);
});
