// The data workload (sim/systems/cluster-data.ts) end to end against a toy data plane (specs/helpers/toy-data-plane.ts):
// producers and a consumer on a client node record a history through the real wire family; crashes of the broker
// and of the client go into it; the data checkers find nothing when the toy broker keeps its log, and report every
// lost write, attributed to the broker's crash, when it plants the durability bug.
import test from 'ava';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, type ScheduleInput } from '../../sim/schedule.js';
import { toyDataSystem } from '../helpers/toy-data-plane.js';

function schedule(faults: ScheduleInput['faults'], params: Record<string, number | boolean | string> = {}): ReturnType<typeof parseSchedule> {
  return parseSchedule({
    version: 1,
    system: 'toy-data',
    cluster: {
      nodes: [{ id: 1, roles: ['broker'] }, { id: 9, roles: ['client'] }],
      topics: [{ name: 'orders', partitions: 2 }],
    },
    workload: {
      producers: [{ id: 'p1', node: 9, topic: 'orders', acks: 'all', ratePerSec: 50, messages: 150 }, { id: 'p2', node: 9, topic: 'orders', acks: 1, ratePerSec: 40, messages: 100 }],
      consumers: [{ id: 'c1', node: 9, group: 'g', topic: 'orders' }],
      params: { consumerPassMs: 500, producer: 'wire', ...params },
    },
    network: { latencyMinMs: 1, latencyMaxMs: 5 },
    faults,
    phases: { safetyMs: 6_000, livenessMs: 20_000 },
  });
}

const storm: ScheduleInput['faults'] = [
  { at: 1_500, kind: 'crash', node: 1 },
  { at: 1_800, kind: 'restart', node: 1 },
  { at: 2_500, kind: 'crash', node: 9 },
  { at: 2_700, kind: 'restart', node: 9 },
  { at: 3_500, kind: 'partition', from: [9], to: [1] },
  { at: 4_200, kind: 'heal' },
];

test.serial('data workload: a broker that keeps its log through crashes shows a clean history', async (t) => {
  const system = toyDataSystem({ durable: true });
  const s = schedule(storm);
  const r = await runSchedule({ schedule: s, seed: 1, system });
  t.deepEqual(r.violations, []);
  const verdict = system.verdictOf(s);
  t.truthy(verdict);
  t.deepEqual(verdict!.anomalies, []);
  t.is(verdict!.stats.sends, 250, 'every value was invoked once');
  t.is(verdict!.stats.acked + verdict!.stats.failed + verdict!.stats.indeterminate, 250, 'and ended once');
  t.true(verdict!.stats.acked > 200, `most sends were acknowledged (${verdict!.stats.acked})`);
  t.is(verdict!.stats.ackedUnverified, 0, 'the final read judged every acknowledged write');
  t.is(verdict!.stats.ackedRead, verdict!.stats.acked);
  const history = system.historyOf(s);
  t.deepEqual(history.filter((e) => e.type === 'fault').map((e) => e.type === 'fault' && `${e.kind}@${e.t}:${String(e.node)}`), [
    'crash@1500:1', 'restart@1800:1', 'crash@2500:9', 'restart@2700:9', 'partition@3500:null', 'heal@4200:null', 'heal@6000:null',
  ], 'the faults are in the history (and the heal that starts the liveness phase)');
  t.true(history.some((e) => e.type === 'read.end'), 'the consumer completed passes');
  const again = await runSchedule({ schedule: s, seed: 1, system: toyDataSystem({ durable: true }) });
  t.is(again.traceHash, r.traceHash, 'deterministic');
});

test.serial('data workload: a broker that loses its log in a crash has its lost writes reported and attributed to the crash', async (t) => {
  const system = toyDataSystem({ durable: false });
  const s = schedule([{ at: 2_000, kind: 'crash', node: 1 }, { at: 2_300, kind: 'restart', node: 1 }]);
  const r = await runSchedule({ schedule: s, seed: 2, system });
  const lost = r.violations.filter((v) => v.checker === 'data.lost-write');
  t.true(lost.length > 0, 'lost writes are violations');
  t.regex(lost[0]!.message, /cause \((acks1-leader-crash|unsynced-tail-lost)\): crash of broker 1/);
  const verdict = system.verdictOf(s)!;
  const causes = new Set(verdict.anomalies.filter((a) => a.checker === 'data.lost-write').map((a) => a.cause?.kind));
  // p2 writes with acks=1 (its leader crashed), p1 with acks=all (the only replica lost its tail).
  t.deepEqual([...causes].sort(), ['acks1-leader-crash', 'unsynced-tail-lost']);
  t.true(verdict.anomalies.some((a) => a.checker === 'data.one-value-per-offset'), 'offsets read before the crash were reused after it');
  t.is(verdict.anomalies.filter((a) => a.cause?.kind === 'unattributed').length, 0, 'every loss is attributed');
});

test.serial('data workload: the real Consumer and the raw wire reader each end with a complete pass that confirms every acknowledged write', async (t) => {
  for (const consumer of ['real', 'wire']) {
    const system = toyDataSystem({ durable: true });
    const s = schedule(storm, { consumer });
    const r = await runSchedule({ schedule: s, seed: 3, system });
    t.deepEqual(r.violations, [], consumer);
    const verdict = system.verdictOf(s)!;
    t.is(verdict.stats.ackedUnverified, 0, `${consumer}: the final reads judged every acknowledged write`);
    t.is(verdict.stats.ackedRead, verdict.stats.acked, consumer);
    const history = system.historyOf(s);
    t.true(history.every((e) => e.type !== 'read' || e.offset < e.highWatermark), `${consumer}: every read lies below its fetch's high watermark`);
    for (const partition of [0, 1]) {
      const end = history.filter((e) => e.type === 'read.end' && e.partition === partition).at(-1);
      if (end === undefined || end.type !== 'read.end') return t.fail(`${consumer}: partition ${partition} never completed a pass`);
      // The pass that ended there read each offset below its high watermark (offsets are read in order within a pass).
      const offsets = new Set(history.filter((e) => e.type === 'read' && e.partition === partition && e.t <= end.t && e.offset < end.highWatermark).map((e) => (e.type === 'read' ? e.offset : -1)));
      t.is(offsets.size, end.highWatermark, `${consumer}: partition ${partition} read every offset below ${end.highWatermark}`);
    }
  }
});
