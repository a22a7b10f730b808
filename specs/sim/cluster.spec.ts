// Whole Raftline nodes under the simulator (sim/systems/cluster.ts): the 3-node, 5-node and extra-broker schedules
// pass safety then liveness and are deterministic; a small swarm finds no violation; each control-plane checker
// (sim/checkers/cluster.ts) fires on a synthetic history that breaks its rule and stays silent on one that keeps it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { applyRecords, emptyImage, type MetadataImage } from '../../src/controller/image.js';
import type { MetadataRecord, TopicId } from '../../src/controller/records.js';
import { ClusterSafetyMonitor, strandedLeaders, type ClusterNodeView } from '../../sim/checkers/cluster.js';
import { generateSchedule } from '../../sim/generator.js';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, type Schedule } from '../../sim/schedule.js';
import { clusterParams } from '../../sim/systems/cluster.js';

function load(name: string): Schedule {
  return parseSchedule(JSON.parse(readFileSync(new URL(`../schedules/${name}`, import.meta.url), 'utf8')));
}

const swarmSeeds = Number(process.env['CLUSTER_SIM_SEEDS'] ?? 4);

for (const name of ['cluster-3.json', 'cluster-5.json', 'cluster-3-plus-brokers.json']) {
  test.serial(`cluster: ${name} passes safety then liveness, with the same trace hash on a second run`, async (t) => {
    const schedule = load(name);
    const first = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
    t.deepEqual(first.violations, []);
    t.not(first.convergedAfterMs, undefined);
    const second = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
    t.is(second.traceHash, first.traceHash, 'same seed and schedule must give a byte-identical trace');
  });
}

test.serial(`cluster: ${swarmSeeds} swarm schedules over three combined nodes show no violation`, async (t) => {
  const base = load('cluster-3.json');
  for (let seed = 1; seed <= swarmSeeds; seed++) {
    const r = await runSchedule({ schedule: generateSchedule(base, seed), seed });
    t.deepEqual(r.violations, [], `seed ${seed}`);
  }
});

test.serial('cluster: the admin workload settles topics that every node then shows', async (t) => {
  const lines: string[] = [];
  const schedule = load('cluster-3.json');
  const r = await runSchedule({ schedule, seed: 5, traceSink: (l) => lines.push(l) });
  t.true(r.ok);
  const done = lines.filter((l) => l.includes('"admin: done"')).map((l) => JSON.parse(l) as { answer: string; kind: string });
  t.is(done.length, 1 + 20, 'the schedule topic and every random operation got a definite answer');
  t.true(done.some((d) => d.kind === 'delete' && d.answer === 'ok'), 'some delete succeeded');
  t.true(done.some((d) => d.answer === 'TOPIC_ALREADY_EXISTS'), 'some create met an existing topic');
});

test('cluster: params are validated and config.* keys go to the real config resolver', (t) => {
  t.deepEqual([...clusterParams({ 'config.min.insync.replicas': 2 }).nodeConfig], [['min.insync.replicas', 2]]);
  t.throws(() => clusterParams({ adminOpz: 3 }), { message: /unknown params.adminOpz/ });
  t.throws(() => clusterParams({ adminOps: -1 }), { message: /non-negative/ });
  const schedule = parseSchedule({ ...load('cluster-3.json'), workload: { params: { 'config.min.insync.replicas': 'many' } } });
  return runSchedule({ schedule, seed: 1 }).then(
    () => t.fail('a bad node config must be refused'),
    (error: unknown) => t.regex(String(error), /min.insync.replicas/),
  );
});

// ---------------------------------------------------------------------------------------------- checkers

const topic: TopicId = 'AAAAAAAAAAAAAAAAAAAAAQ';

function register(brokerId: number, brokerEpoch: number): MetadataRecord {
  return { type: 'register-broker', version: 0, brokerId, incarnationId: `inc-${brokerId}`, brokerEpoch, rack: null, endpoints: [{ name: 'ws', host: `n${brokerId}`, port: 9092 }] };
}

/** Brokers 1 and 2 registered and unfenced; topic t with one partition led by 1, ISR [1, 2]; offset 5. */
function baseImage(): MetadataImage {
  return applyRecords(emptyImage, [
    register(1, 0),
    { type: 'unfence-broker', version: 0, brokerId: 1, brokerEpoch: 0 },
    register(2, 2),
    { type: 'unfence-broker', version: 0, brokerId: 2, brokerEpoch: 2 },
    { type: 'topic', version: 0, name: 't', topicId: topic },
    { type: 'partition', version: 0, topicId: topic, partitionId: 0, replicas: [1, 2], isr: [1, 2], elr: [], lastKnownElr: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
  ], 0);
}

function view(nodeId: number, image: MetadataImage, extra: Partial<ClusterNodeView> = {}): ClusterNodeView {
  return { nodeId, incarnation: 0, image, controller: null, batchImages: [], pendingBatchEnds: [], records: () => null, ...extra };
}

test('cluster checker: two active controllers in one epoch are reported; successive epochs are not', (t) => {
  const m = new ClusterSafetyMonitor();
  const image = baseImage();
  m.onStep([view(1, image, { controller: { role: 'active', epoch: 3 } }), view(2, image, { controller: { role: 'inactive', epoch: 3 } })]);
  m.onStep([view(1, image, { controller: { role: 'inactive', epoch: 4 } }), view(2, image, { controller: { role: 'active', epoch: 4 } })]);
  t.is(m.take('cluster.one-active-controller-per-epoch'), undefined);
  m.onStep([view(1, image, { controller: { role: 'active', epoch: 4 } })]);
  t.regex(m.take('cluster.one-active-controller-per-epoch') ?? '', /nodes 2 and 1 were both the active controller in epoch 4/);
});

test('cluster checker: different images at one offset are reported; equal ones are not', (t) => {
  const m = new ClusterSafetyMonitor();
  const image = baseImage();
  // Node 2 replayed the same records: an equal image (a different object).
  m.onStep([view(1, image), view(2, baseImage())]);
  t.is(m.take('cluster.same-image-at-offset'), undefined);
  t.is(m.stats.images, 2);
  // Node 3 holds an image at offset 5 whose last record differs (the partition led by 2 instead of 1).
  const diverged = applyRecords(emptyImage, [
    register(1, 0),
    { type: 'unfence-broker', version: 0, brokerId: 1, brokerEpoch: 0 },
    register(2, 2),
    { type: 'unfence-broker', version: 0, brokerId: 2, brokerEpoch: 2 },
    { type: 'topic', version: 0, name: 't', topicId: topic },
    { type: 'partition', version: 0, topicId: topic, partitionId: 0, replicas: [1, 2], isr: [1, 2], elr: [], lastKnownElr: [], leader: 2, leaderEpoch: 0, partitionEpoch: 0 },
  ], 0);
  m.onStep([view(3, diverged)]);
  t.regex(m.take('cluster.same-image-at-offset') ?? '', /nodes 1 and 3 hold different metadata images at offset 5/);
  // The same divergence also gave partition t-0 two leaders in leader epoch 0.
  t.regex(m.take('cluster.one-leader-per-partition-epoch') ?? '', /t-0 had leaders 1 and 2 in leader epoch 0/);
});

test('cluster checker: a new leader in a new leader epoch is not two leaders', (t) => {
  const m = new ClusterSafetyMonitor();
  const image = baseImage();
  const moved = applyRecords(image, [{ type: 'partition-change', version: 0, topicId: topic, partitionId: 0, leader: 2, unclean: false }], 6);
  m.onStep([view(1, image)]);
  m.onStep([view(1, moved)]);
  t.is(m.take('cluster.one-leader-per-partition-epoch'), undefined);
});

test('cluster checker: a fenced leader left in place while an ISR member is active is reported at a batch boundary', (t) => {
  const fencedOnly = applyRecords(baseImage(), [{ type: 'fence-broker', version: 0, brokerId: 1, brokerEpoch: 0 }], 6);
  t.deepEqual(strandedLeaders(baseImage()), []);
  t.regex(strandedLeaders(fencedOnly)[0] ?? '', /t-0 led by inactive broker 1 while ISR member 2 is active/);
  // Mid-batch (offset 6 is not a known batch end) the committed image may show it: not a violation.
  const m = new ClusterSafetyMonitor();
  m.onStep([view(2, fencedOnly)]);
  t.is(m.take('cluster.fenced-leader-moved'), undefined);
  // The fence and the leader move in one batch (offsets 6-7): the image at the batch end is fine.
  const movedToo = applyRecords(fencedOnly, [{ type: 'partition-change', version: 0, topicId: topic, partitionId: 0, leader: 2, isr: [2], unclean: false }], 7);
  m.onStep([view(1, movedToo, { controller: { role: 'active', epoch: 2 }, batchImages: [movedToo], pendingBatchEnds: [7] })]);
  m.onStep([view(2, movedToo)]);
  t.is(m.take('cluster.fenced-leader-moved'), undefined);
  // A controller whose batch fenced the leader and stopped there is caught on its own image...
  const m2 = new ClusterSafetyMonitor();
  m2.onStep([view(1, baseImage(), { controller: { role: 'active', epoch: 2 }, batchImages: [fencedOnly], pendingBatchEnds: [6] })]);
  t.regex(m2.take('cluster.fenced-leader-moved') ?? '', /active controller 1's image: t-0 led by inactive broker 1/);
  // ... and on any node's committed image at that batch's end.
  m2.onStep([view(2, fencedOnly)]);
  t.regex(m2.take('cluster.fenced-leader-moved') ?? '', /node 2's committed image: t-0 led by inactive broker 1/);
  // With no other active ISR member the fenced leader may stay (the partition has nowhere to go).
  const alone = applyRecords(baseImage(), [
    { type: 'partition-change', version: 0, topicId: topic, partitionId: 0, isr: [1], unclean: false },
    { type: 'fence-broker', version: 0, brokerId: 1, brokerEpoch: 0 },
  ], 6);
  t.deepEqual(strandedLeaders(alone), []);
});

test('cluster checker: a leader from outside the ISR is reported unless the topic allows unclean elections', (t) => {
  // Broker 2 leaves the ISR, then broker 1 is fenced and 2 elected: an unclean election, as its record says.
  const shrunk = applyRecords(baseImage(), [{ type: 'partition-change', version: 0, topicId: topic, partitionId: 0, isr: [1], unclean: false }], 6);
  const uncleanBatch: MetadataRecord[] = [
    { type: 'fence-broker', version: 0, brokerId: 1, brokerEpoch: 0 },
    { type: 'partition-change', version: 0, topicId: topic, partitionId: 0, leader: 2, isr: [2], unclean: true },
  ];
  const unclean = applyRecords(shrunk, uncleanBatch, 7);
  const withRecords = (batch: MetadataRecord[]) => ({ records: () => batch });
  const strict = new ClusterSafetyMonitor(false);
  strict.onStep([view(2, shrunk)]);
  strict.onStep([view(2, unclean, withRecords(uncleanBatch))]);
  t.regex(strict.take('cluster.clean-election') ?? '', /t-0: broker 2 elected leader in epoch 1 from outside the ISR and ELR although unclean.leader.election.enable is false/);
  t.is(strict.stats.uncleanElections, 1);
  // Without the records in between (compacted away) nothing is judged.
  const blind = new ClusterSafetyMonitor(false);
  blind.onStep([view(2, shrunk)]);
  blind.onStep([view(2, unclean)]);
  t.is(blind.take('cluster.clean-election'), undefined);
  // Allowed by the nodes' default, or by the topic's own config: counted, not reported.
  const lenient = new ClusterSafetyMonitor(true);
  lenient.onStep([view(2, shrunk)]);
  lenient.onStep([view(2, unclean, withRecords(uncleanBatch))]);
  t.is(lenient.take('cluster.clean-election'), undefined);
  t.is(lenient.stats.uncleanElections, 1);
  const allowing: MetadataRecord = { type: 'config', version: 0, resourceType: 'topic', resourceName: 't', name: 'unclean.leader.election.enable', value: 'true' };
  const shrunkAllowing = applyRecords(shrunk, [allowing], 7);
  const m = new ClusterSafetyMonitor(false);
  m.onStep([view(2, shrunkAllowing)]);
  m.onStep([view(2, applyRecords(shrunkAllowing, uncleanBatch, 8), withRecords(uncleanBatch))]);
  t.is(m.take('cluster.clean-election'), undefined);
  // An ISR expansion and a clean election of the newcomer, seen in one step, are not an unclean election.
  const cleanBatch: MetadataRecord[] = [
    { type: 'partition-change', version: 0, topicId: topic, partitionId: 0, isr: [1, 2], unclean: false },
    { type: 'fence-broker', version: 0, brokerId: 1, brokerEpoch: 0 },
    { type: 'partition-change', version: 0, topicId: topic, partitionId: 0, leader: 2, isr: [2], unclean: false },
  ];
  const clean = new ClusterSafetyMonitor(false);
  clean.onStep([view(1, shrunk)]);
  clean.onStep([view(1, applyRecords(shrunk, cleanBatch, 7), withRecords(cleanBatch))]);
  t.is(clean.stats.uncleanElections, 0);
  t.is(clean.take('cluster.clean-election'), undefined);
});
