import test from 'ava';
import { generateSchedule } from '../../sim/generator.js';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, ScheduleError } from '../../sim/schedule.js';
import { shrinkSchedule } from '../../sim/shrink.js';
import { pingPongBaseSchedule } from '../../sim/systems/ping-pong.js';

const minimal = { version: 1, system: 'ping-pong', cluster: { nodes: [{ id: 1 }, { id: 2 }] } };

test('schedule: defaults fill in roles, workload, faults and phases', (t) => {
  const s = parseSchedule(minimal);
  t.deepEqual(s.cluster.nodes[0]!.roles, ['broker', 'controller']);
  t.deepEqual(s.faults, []);
  t.deepEqual(s.phases, { safetyMs: 10_000, livenessMs: 20_000 });
});

test('schedule: faults naming unknown nodes, outside the safety phase or of unknown kinds are rejected with their path', (t) => {
  const error = t.throws(
    () =>
      parseSchedule({
        ...minimal,
        faults: [{ at: 10, kind: 'crash', node: 9 }, { at: 50_000, kind: 'heal' }, { at: 1, kind: 'meteor' }],
        phases: { safetyMs: 1000, livenessMs: 1000 },
      }),
    { instanceOf: ScheduleError },
  );
  t.regex(error.message, /faults\.2/);
  t.throws(() => parseSchedule({ ...minimal, faults: [{ at: 10, kind: 'crash', node: 9 }] }), { message: /node 9, which is not in cluster\.nodes/ });
  t.throws(() => parseSchedule({ ...minimal, faults: [{ at: 50_000, kind: 'heal' }] }), { message: /not inside the safety phase/ });
  t.throws(() => parseSchedule({ ...minimal, topics: [] }), { instanceOf: ScheduleError });
  t.throws(() => parseSchedule({ ...minimal, cluster: { nodes: [{ id: 1 }, { id: 1 }] } }), { message: /duplicate node id 1/ });
});

test('schedule: topic configs use Kafka\'s key names', (t) => {
  const s = parseSchedule({
    ...minimal,
    cluster: { ...minimal.cluster, topics: [{ name: 'orders', partitions: 3, config: { 'replication.factor': 2, 'min.insync.replicas': 2, 'unclean.leader.election.enable': false } }] },
    workload: { producers: [{ id: 'p', topic: 'orders', acks: 'all', ratePerSec: 100, messages: 1000 }] },
  });
  t.is(s.cluster.topics[0]!.config['min.insync.replicas'], 2);
  t.throws(() => parseSchedule({ ...minimal, cluster: { ...minimal.cluster, topics: [{ name: 't', config: { 'retention.foo': 1 } }] } }));
});

test('generator: the same seed gives the same valid schedule; seeds differ in their fault mix', (t) => {
  const base = parseSchedule(pingPongBaseSchedule);
  t.deepEqual(generateSchedule(base, 5), generateSchedule(base, 5));
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 20; seed++) kinds.add([...new Set(generateSchedule(base, seed).faults.map((f) => f.kind))].sort().join(','));
  t.true(kinds.size > 5, `only ${kinds.size} distinct fault mixes over 20 seeds`);
});

test.serial('shrink: a planted liveness bug is found, and the shrunk schedule still fails the same checker with fewer faults', async (t) => {
  const schedule = parseSchedule({
    ...pingPongBaseSchedule,
    workload: { params: { rounds: 40, intervalMs: 100, timeoutMs: 250, bug: 'no-retry' } },
    faults: [
      { at: 300, kind: 'clock-skew', node: 2, skewMs: 700 },
      { at: 500, kind: 'pause', node: 3, durationMs: 100 },
      { at: 1000, kind: 'link', from: [1], to: [2], model: { loss: 1 } },
      { at: 1400, kind: 'link', from: [1], to: [2], model: { loss: 0 } },
      { at: 2000, kind: 'clog', from: [2], to: [3], durationMs: 50 },
      { at: 2500, kind: 'crash', node: 3 },
      { at: 2600, kind: 'restart', node: 3 },
    ],
    phases: { safetyMs: 3000, livenessMs: 10_000 },
  });
  const failing = await runSchedule({ schedule, seed: 1 });
  t.false(failing.ok);
  t.is(failing.violations[0]?.checker, 'liveness');
  const shrunk = await shrinkSchedule(schedule, 1, failing, undefined, 60);
  t.is(shrunk.result.violations[0]?.checker, 'liveness');
  t.true(shrunk.schedule.faults.length < schedule.faults.length);
  t.true(shrunk.schedule.faults.some((f) => f.kind === 'link' && f.model.loss === 1), 'the loss burst is what breaks the no-retry pinger');
  t.false((await runSchedule({ schedule: shrunk.schedule, seed: 1 })).ok);
  // Without the bug the same schedule passes: the checker is not failing for its own reasons.
  const fixed = parseSchedule({ ...schedule, workload: { ...schedule.workload, params: { ...schedule.workload.params, bug: 'none' } } });
  t.true((await runSchedule({ schedule: fixed, seed: 1 })).ok);
});
