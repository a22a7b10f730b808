// The leader's pure arithmetic (src/replication/isr.ts) and the idempotent-producer table (producer-state.ts),
// without logs, actors or time.
import test from 'ava';
import { computeHighWatermark, laggingMembers, mayJoinIsr, newFollowerProgress, recordFollowerFetch, type FollowerProgress } from '../../src/replication/isr.js';
import { nextSequence, ProducerStateTable } from '../../src/replication/producer-state.js';
import { readBatchHeader } from '../../src/storage/record-batch.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { idempotentBatch } from './harness.js';

const progress = (logEndOffset: number, lastCaughtUpMs = 0): FollowerProgress => ({ ...newFollowerProgress(lastCaughtUpMs), logEndOffset });

test('isr: the high watermark is the smallest LEO over the maximal ISR and never moves back', (t) => {
  const followers = new Map([[2, progress(7)], [3, progress(5)]]);
  const base = { leaderId: 1, leaderEndOffset: 10, maximalIsr: [1, 2, 3], isr: [1, 2, 3], minInsyncReplicas: 1, followers, current: 0 };
  t.is(computeHighWatermark(base), 5);
  t.is(computeHighWatermark({ ...base, current: 6 }), 6, 'never backwards');
  t.is(computeHighWatermark({ ...base, maximalIsr: [1, 2], isr: [1, 2] }), 7);
  t.is(computeHighWatermark({ ...base, maximalIsr: [1], isr: [1] }), 10, 'a lone leader: its own LEO');
});

test('isr: the high watermark waits for ISR members that have not fetched yet, and for min.insync.replicas (KIP-966)', (t) => {
  const followers = new Map([[2, progress(7)], [3, newFollowerProgress(0)]]);
  t.is(computeHighWatermark({ leaderId: 1, leaderEndOffset: 10, maximalIsr: [1, 2, 3], isr: [1, 2, 3], minInsyncReplicas: 1, followers, current: 4 }), 4);
  t.is(computeHighWatermark({ leaderId: 1, leaderEndOffset: 10, maximalIsr: [1], isr: [1], minInsyncReplicas: 2, followers, current: 4 }), 4);
  t.throws(() => computeHighWatermark({ leaderId: 1, leaderEndOffset: 3, maximalIsr: [1], isr: [1], minInsyncReplicas: 1, followers, current: 4 }), { message: /invariant/ });
});

test('isr: a follower is caught up when it fetches at the leader\'s end, or past where the end was at its previous fetch', (t) => {
  let p = newFollowerProgress(0);
  p = recordFollowerFetch(p, 5, 10, 100);
  t.is(p.lastCaughtUpMs, 0, 'behind: not caught up');
  p = recordFollowerFetch(p, 10, 12, 200);
  t.is(p.lastCaughtUpMs, 100, 'reached where the leader ended at its previous fetch: caught up as of then');
  p = recordFollowerFetch(p, 12, 12, 300);
  t.is(p.lastCaughtUpMs, 300);
  const followers = new Map([[2, p], [3, progress(0, 0)]]);
  t.deepEqual(laggingMembers(1, [1, 2, 3], followers, 700, 500), [3]);
  t.deepEqual(laggingMembers(1, [1, 2, 3], followers, 900, 500), [2, 3]);
  t.deepEqual(laggingMembers(1, [1, 2, 3], followers, 400, 500), []);
  t.true(mayJoinIsr(progress(12), 12, 10));
  t.false(mayJoinIsr(progress(11), 12, 10), 'below the high watermark');
  t.false(mayJoinIsr(progress(12), 12, 13), 'below the start of the leader\'s epoch');
});

test('producer state: duplicates of the last five batches are recognised; gaps, older epochs and a new epoch not at 0 are refused', (t) => {
  const table = new ProducerStateTable();
  const header = (seq: number, n = 1, epoch = 0) => readBatchHeader(idempotentBatch(Array.from({ length: n }, (_, i) => `v${i}`), 42, seq, epoch));
  t.deepEqual(table.check(header(17)), { kind: 'append' }, 'an unknown producer may start anywhere');
  let offset = 0;
  for (let seq = 0; seq < 12; seq += 2) {
    t.deepEqual(table.check(header(seq, 2)), { kind: 'append' });
    table.update(header(seq, 2), offset);
    offset += 2;
  }
  t.deepEqual(table.check(header(10, 2)), { kind: 'duplicate', baseOffset: 10, lastOffset: 11 });
  t.deepEqual(table.check(header(2, 2)), { kind: 'duplicate', baseOffset: 2, lastOffset: 3 }, 'the fifth newest is remembered');
  const code = (fn: () => unknown) => t.throws(fn, { instanceOf: RaftlineError })?.code;
  t.is(code(() => table.check(header(0, 2))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'the sixth newest is forgotten');
  t.is(code(() => table.check(header(13))), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  t.is(code(() => table.check(header(11))), 'DUPLICATE_SEQUENCE_NUMBER');
  t.is(code(() => table.check(header(3, 1, 1))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a new epoch starts at 0');
  t.deepEqual(table.check(header(0, 1, 1)), { kind: 'append' });
  table.update(header(0, 1, 1), 50);
  t.is(code(() => table.check(header(12))), 'INVALID_PRODUCER_EPOCH');
  t.is(nextSequence(2 ** 31 - 1), 0, 'sequences wrap at int32 max');
});
