// The data-plane checkers (sim/checkers/data.ts) over synthetic histories: each fires on a history that breaks its
// rule, names the cause of every lost write, and stays silent on a history that keeps the rule.
import test from 'ava';
import { analyzeHistory, dataCheckers, type HistoryEvent } from '../../sim/checkers/data.js';
import type { Simulation } from '../../sim/simulation.js';

const idem = (producer: string, acks: 0 | 1 | -1 = -1): HistoryEvent => ({ t: 0, type: 'producer', producer, idempotent: true, acks });
const plain = (producer: string, acks: 0 | 1 | -1 = -1, t = 0): HistoryEvent => ({ t, type: 'producer', producer, idempotent: false, acks });
const invoke = (t: number, producer: string, value: string, seq: number, partition = 0): HistoryEvent => ({ t, type: 'send.invoke', producer, value, seq, topic: 'orders', partition });
const ok = (t: number, producer: string, value: string, offset: number, leader = 1, partition = 0): HistoryEvent => ({ t, type: 'send.ok', producer, value, topic: 'orders', partition, offset, leader });
const read = (t: number, offset: number, value: string, highWatermark = 100, partition = 0): HistoryEvent => ({ t, type: 'read', consumer: 'c1', topic: 'orders', partition, offset, value, highWatermark });
const fault = (t: number, kind: string, node: number): HistoryEvent => ({ t, type: 'fault', kind, node });
const election = (t: number, leader: number, leaderEpoch: number, unclean = false, partition = 0): HistoryEvent => ({ t, type: 'election', topic: 'orders', partition, leader, leaderEpoch, unclean });

/** p1 sends a, b, c; all acknowledged at 0, 1, 2 by leader 1. */
function threeAcked(acks: 0 | 1 | -1 = -1): HistoryEvent[] {
  return [idem('p1', acks), invoke(1, 'p1', 'a', 0), invoke(2, 'p1', 'b', 1), invoke(3, 'p1', 'c', 2), ok(5, 'p1', 'a', 0), ok(6, 'p1', 'b', 1), ok(7, 'p1', 'c', 2)];
}

test('data checkers: a history where every acknowledged write is read once, in order, below the high watermark is clean', (t) => {
  const v = analyzeHistory([...threeAcked(), read(50, 0, 'a', 3), read(50, 1, 'b', 3), read(50, 2, 'c', 3), read(60, 2, 'c', 3)]);
  t.deepEqual(v.anomalies, []);
  t.like(v.stats, { sends: 3, acked: 3, ackedRead: 3, ackedUnverified: 0, lost: 0, reads: 4 });
});

test('data checkers: an acknowledged write is lost only once a later offset of its partition was read (Jepsen)', (t) => {
  // c (offset 2) was never read, but nothing beyond offset 1 was read either: not judged.
  const unjudged = analyzeHistory([...threeAcked(), read(50, 0, 'a'), read(50, 1, 'b')]);
  t.deepEqual(unjudged.anomalies, []);
  t.like(unjudged.stats, { ackedUnverified: 1, lost: 0 });
  // Offset 3 (another producer's) was read and c is nowhere: lost, and with no fault to explain it, unattributed.
  const lost = analyzeHistory([...threeAcked(), plain('p2', -1, 8), invoke(8, 'p2', 'x', 0), ok(9, 'p2', 'x', 3), read(50, 0, 'a'), read(50, 1, 'b'), read(50, 3, 'x')]);
  t.is(lost.anomalies.length, 1);
  t.like(lost.anomalies[0], { checker: 'data.lost-write', value: 'c', offset: 2, cause: { kind: 'unattributed' } });
  t.regex(lost.anomalies[0]!.message, /acknowledged write c \(p1, orders-0 offset 2, .*\) is lost: that offset was skipped while offset 3 was read/);
});

test('data checkers: a loss after an unclean election is attributed to it, and the rewritten offset is reported too', (t) => {
  const v = analyzeHistory([
    ...threeAcked(),
    election(7, 1, 0),
    read(8, 2, 'c'), // a consumer saw c before the election
    fault(10, 'crash', 1),
    election(20, 3, 1, true), // broker 3, out of sync, elected uncleanly
    plain('p2', -1, 21), invoke(21, 'p2', 'z', 0), ok(22, 'p2', 'z', 2, 3),
    read(50, 0, 'a'), read(50, 1, 'b'), read(50, 2, 'z'),
  ]);
  const lost = v.anomalies.filter((a) => a.checker === 'data.lost-write');
  t.deepEqual(lost.map((a) => [a.value, a.cause?.kind]), [['c', 'unclean-election']], 'c was read once, then replaced: lost all the same');
  const rewritten = v.anomalies.find((a) => a.checker === 'data.one-value-per-offset');
  t.like(rewritten, { offset: 2, cause: { kind: 'unclean-election', node: 3, t: 20 } });
  t.regex(rewritten?.message ?? '', /offset 2 was read with different values: c, z; cause \(unclean-election\): unclean election of broker 3 as leader of orders-0 in leader epoch 1/);
  // Had nobody read c before the election, c is simply lost — to the unclean election.
  const unseen = analyzeHistory([
    ...threeAcked(),
    fault(10, 'crash', 1),
    election(20, 3, 1, true),
    plain('p2', -1, 21), invoke(21, 'p2', 'z', 0), ok(22, 'p2', 'z', 2, 3),
    read(50, 0, 'a'), read(50, 1, 'b'), read(50, 2, 'z'),
  ]);
  t.deepEqual(unseen.anomalies.map((a) => [a.checker, a.value, a.cause?.kind]), [['data.lost-write', 'c', 'unclean-election']]);
});

test('data checkers: the last complete read of a partition decides, down to writes beyond its high watermark', (t) => {
  const pass = (t0: number, values: string[], hw: number, consumer = 'c1'): HistoryEvent[] => [
    ...values.map((v, i) => ({ t: t0, type: 'read' as const, consumer, topic: 'orders', partition: 0, offset: i, value: v, highWatermark: hw })),
    { t: t0, type: 'read.end', consumer, topic: 'orders', partition: 0, highWatermark: hw },
  ];
  // A full pass saw a, b, c; after the leader lost its tail, the last full pass ends at high watermark 1.
  const v = analyzeHistory([...threeAcked(), ...pass(20, ['a', 'b', 'c'], 3), fault(30, 'lose-unsynced', 1), ...pass(40, ['a'], 1)]);
  t.deepEqual(v.anomalies.map((a) => [a.value, a.cause?.kind]), [['b', 'unsynced-tail-lost'], ['c', 'unsynced-tail-lost']]);
  t.regex(v.anomalies[0]!.message, /the last full read \(c1 at 40 ms\) ended at high watermark 1, below its offset/);
  // A pass that ended before the acknowledgement does not judge it (c was acked at 7 ms; this pass ended at 6 ms).
  const early: HistoryEvent[] = [idem('p1'), invoke(1, 'p1', 'a', 0), invoke(2, 'p1', 'c', 1), ok(5, 'p1', 'a', 0), ...pass(6, ['a'], 1), ok(7, 'p1', 'c', 1)];
  t.deepEqual(analyzeHistory(early).anomalies, []);
  t.is(analyzeHistory(early).stats.ackedUnverified, 1);
});

test('data checkers: an acks=1 write lost with its crashed leader is attributed to that crash', (t) => {
  const v = analyzeHistory([
    ...threeAcked(1),
    fault(9, 'crash', 1),
    election(12, 2, 1),
    plain('p2', -1, 13), invoke(13, 'p2', 'y', 0), ok(14, 'p2', 'y', 1, 2), invoke(15, 'p2', 'w', 1), ok(16, 'p2', 'w', 2, 2),
    read(50, 0, 'a'), read(50, 1, 'y'), read(50, 2, 'w'),
  ]);
  t.deepEqual(v.anomalies.map((a) => [a.checker, a.value, a.cause?.kind, a.cause?.node]), [
    ['data.lost-write', 'b', 'acks1-leader-crash', 1],
    ['data.lost-write', 'c', 'acks1-leader-crash', 1],
  ]);
  t.regex(v.anomalies[0]!.message, /offset 1 now holds y; cause \(acks1-leader-crash\): crash of broker 1, the acks=1 leader of orders-0, at 9 ms before its followers had fetched the write/);
});

test('data checkers: the last replica standing losing its unsynced tail is attributed to the power loss', (t) => {
  const v = analyzeHistory([
    ...threeAcked(-1),
    election(7, 1, 0),
    fault(30, 'lose-unsynced', 1),
    fault(35, 'restart', 1),
    plain('p2', -1, 40), invoke(40, 'p2', 'q', 0), ok(41, 'p2', 'q', 1, 1), invoke(42, 'p2', 'r', 1), ok(43, 'p2', 'r', 2, 1),
    read(60, 0, 'a'), read(60, 1, 'q'), read(60, 2, 'r'),
  ]);
  t.deepEqual(v.anomalies.map((a) => [a.checker, a.value, a.cause?.kind]), [
    ['data.lost-write', 'b', 'unsynced-tail-lost'],
    ['data.lost-write', 'c', 'unsynced-tail-lost'],
  ]);
  t.regex(v.anomalies[1]!.cause!.detail, /lose-unsynced of broker 1, then leader of orders-0, at 30 ms/);
  // A power loss of a broker that did not lead at the time does not explain it.
  const elsewhere = analyzeHistory([
    ...threeAcked(-1),
    election(7, 1, 0),
    fault(30, 'lose-unsynced', 2),
    plain('p2', -1, 40), invoke(40, 'p2', 'q', 0), ok(41, 'p2', 'q', 1, 1),
    read(60, 0, 'a'), read(60, 1, 'q'),
  ]);
  t.like(elsewhere.anomalies[0], { checker: 'data.lost-write', value: 'b', cause: { kind: 'unattributed' } });
});

test('data checkers: a value read at two offsets is a duplicate for an idempotent producer, and only counted otherwise', (t) => {
  const dup = analyzeHistory([...threeAcked(), read(50, 0, 'a'), read(50, 1, 'b'), read(50, 2, 'c'), read(50, 3, 'b')]);
  t.deepEqual(dup.anomalies.map((a) => [a.checker, a.value, a.offset]), [['data.duplicate', 'b', 1]]);
  t.regex(dup.anomalies[0]!.message, /b from idempotent producer p1 was written more than once in orders-0: offsets 1, 3/);
  const plainDup = analyzeHistory([plain('p1'), invoke(1, 'p1', 'a', 0), invoke(2, 'p1', 'b', 1), ok(5, 'p1', 'a', 0), ok(6, 'p1', 'b', 1), read(50, 0, 'a'), read(50, 1, 'b'), read(50, 2, 'a')]);
  t.deepEqual(plainDup.anomalies, []);
  t.is(plainDup.stats.duplicatesAllowed, 1);
});

test('data checkers: an idempotent producer\'s records out of send order within a partition are reported', (t) => {
  const history: HistoryEvent[] = [idem('p1'), invoke(1, 'p1', 'a', 0), invoke(2, 'p1', 'b', 1), ok(5, 'p1', 'b', 0), ok(6, 'p1', 'a', 1), read(50, 0, 'b'), read(50, 1, 'a')];
  const v = analyzeHistory(history);
  t.deepEqual(v.anomalies.map((a) => a.checker), ['data.producer-order']);
  t.regex(v.anomalies[0]!.message, /sent a before b, but orders-0 holds them at offsets 1 and 0/);
  // The same order from a producer without idempotence is allowed (retries may reorder), and across partitions too.
  t.deepEqual(analyzeHistory([plain('p1'), ...history.slice(1)]).anomalies, []);
  t.deepEqual(analyzeHistory([idem('p1'), invoke(1, 'p1', 'a', 0, 0), invoke(2, 'p1', 'b', 1, 1), ok(5, 'p1', 'b', 0, 1, 1), ok(6, 'p1', 'a', 1, 1, 0), read(50, 1, 'a', 100, 0), read(50, 0, 'b', 100, 1)]).anomalies, []);
});

test('data checkers: a read at or above the high watermark of its fetch is reported; one below is not', (t) => {
  const v = analyzeHistory([...threeAcked(), read(50, 0, 'a', 3), read(50, 1, 'b', 3), read(50, 2, 'c', 2)]);
  t.deepEqual(v.anomalies.map((a) => [a.checker, a.offset]), [['data.read-above-high-watermark', 2]]);
});

test('data checkers: a history out of time order, or with a value sent twice, is refused', (t) => {
  t.throws(() => analyzeHistory([idem('p1'), invoke(5, 'p1', 'a', 0), invoke(4, 'p1', 'b', 1)]), { message: /follows one at 5 ms/ });
  t.throws(() => analyzeHistory([idem('p1'), invoke(1, 'p1', 'a', 0), invoke(2, 'p1', 'a', 1)]), { message: /value a sent twice/ });
});

test('data checkers: at the end of the liveness phase each anomaly becomes a violation under its checker\'s name', (t) => {
  const failures: Array<[string, string]> = [];
  const traced: string[] = [];
  const sim = { fail: (checker: string, message: string) => failures.push([checker, message]), trace: { record: (_n: string, ev: string) => traced.push(ev) } } as unknown as Simulation;
  const keep: { verdict?: ReturnType<typeof analyzeHistory> } = {};
  const history = [...threeAcked(), read(50, 0, 'a'), read(50, 1, 'b'), read(50, 2, 'c', 2), read(50, 3, 'b')];
  const [checker] = dataCheckers(() => history, keep);
  checker!.atEnd!(sim, 'safety', () => t.fail());
  t.deepEqual(failures, [], 'nothing is judged before the workload drained');
  checker!.atEnd!(sim, 'liveness', () => t.fail());
  t.deepEqual(failures.map(([c]) => c), ['data.duplicate', 'data.read-above-high-watermark']);
  t.deepEqual(traced, ['data.verdict']);
  t.is(keep.verdict?.stats.acked, 3);
});
