// KIP-966 unclean-shutdown detection: the clean-shutdown marker (src/broker/clean-shutdown.ts) on the Disk port's
// durability contract, and whole simulated nodes — a clean stop registers again with the epoch it held and stays an
// eligible leader; a crash registers with -1 and the controller moves it from the ELR to the last known ELR.
import test from 'ava';
import { cleanShutdownFile, takeCleanShutdownMarker, writeCleanShutdownMarker } from '../../src/broker/clean-shutdown.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { runSchedule } from '../../sim/runner.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { parseSchedule } from '../../sim/schedule.js';
import { clusterWorldOf } from '../../sim/systems/cluster.js';
import type { Checker } from '../../sim/system.js';

function disk(seed = 1): SimDisk {
  return new SimDisk({ random: createSeededRandom(seed) });
}

test('clean shutdown: a marker written at stop is read once at start, then it is gone', async (t) => {
  const d = disk();
  await writeCleanShutdownMarker(d, '', 42);
  t.true(await d.exists(cleanShutdownFile));
  t.is(await takeCleanShutdownMarker(d, '', silentLogger), 42);
  t.false(await d.exists(cleanShutdownFile));
  t.is(await takeCleanShutdownMarker(d, '', silentLogger), -1, 'a second start without a clean stop in between is unclean');
});

test('clean shutdown: the marker survives a power loss right after it was written, and its removal one right after the start', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const d = disk(seed);
    d.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
    await writeCleanShutdownMarker(d, '', 7);
    d.crash();
    t.is(await takeCleanShutdownMarker(d, '', silentLogger), 7, `seed ${seed}: the written marker was durable`);
    d.crash();
    // Had the removal not been made durable, the crashed start would look clean on the next one.
    t.is(await takeCleanShutdownMarker(d, '', silentLogger), -1, `seed ${seed}: the removal was durable`);
  }
});

test('clean shutdown: a damaged marker proves nothing: the stop counts as unclean and the marker is removed', async (t) => {
  for (const body of ['{"version":0,"brokerEpoch":-3}', '{"version":9,"brokerEpoch":3}', 'not json', '{"version":0,"brokerEpoch":3,"extra":1}']) {
    const d = disk();
    await d.writeFileAtomic(cleanShutdownFile, new TextEncoder().encode(body));
    t.is(await takeCleanShutdownMarker(d, '', silentLogger), -1, body);
    t.false(await d.exists(cleanShutdownFile), body);
  }
});

test('clean shutdown: only a registered epoch can be vouched for', async (t) => {
  await t.throwsAsync(writeCleanShutdownMarker(disk(), '', -1), { instanceOf: RangeError });
  await t.throwsAsync(writeCleanShutdownMarker(disk(), '', 1.5), { instanceOf: RangeError });
});

// ---------------------------------------------------------------------------------------------- whole nodes

/**
 * One controller, brokers 4 and 5 holding one partition with min.insync.replicas=2 and ELR on. Broker 4 stops cleanly
 * (controlled shutdown takes it out of the ISR into the ELR) and comes back; later broker 5 crashes (fenced, it joins
 * the ELR) and comes back.
 */
const schedule = parseSchedule({
  version: 1,
  system: 'cluster',
  seed: 3,
  cluster: {
    nodes: [
      { id: 1, roles: ['controller'] },
      { id: 4, roles: ['broker'] },
      { id: 5, roles: ['broker'] },
      { id: 9, roles: ['client'] },
    ],
    topics: [{ name: 'events', partitions: 1, assignments: [[4, 5]], config: { 'min.insync.replicas': 2 } }],
  },
  workload: { params: { adminOps: 0, 'config.eligible.leader.replicas.enable': true, 'config.replica.lag.time.max.ms': 1000 } },
  faults: [
    { at: 3000, kind: 'stop', node: 4 },
    { at: 4500, kind: 'restart', node: 4 },
    { at: 8000, kind: 'crash', node: 5 },
    { at: 11_000, kind: 'restart', node: 5 },
  ],
  phases: { safetyMs: 14_000, livenessMs: 20_000 },
});

interface Registration {
  node: string;
  t: number;
  brokerEpoch: number;
  previousBrokerEpoch: number;
}

test.serial('clean shutdown: a clean stop registers again with the epoch it held and stays eligible; a crash registers with -1 and leaves the ELR', async (t) => {
  const lines: string[] = [];
  // The partition's ISR/ELR states as the active controller's committed image went through them.
  const states: string[] = [];
  const watch: Checker = {
    name: 'spec.elr-states',
    onStep(sim) {
      const p = clusterWorldOf(sim.schedule).activeImage()?.topicsByName.get('events')?.partitions[0];
      if (p === undefined) return;
      const s = JSON.stringify({ leader: p.leader, isr: p.isr, elr: p.elr, lastKnownElr: p.lastKnownElr });
      if (states.at(-1) !== s) states.push(s);
    },
  };
  const result = await runSchedule({ schedule, seed: schedule.seed ?? 1, traceSink: (l) => lines.push(l), checkers: [watch] });
  t.deepEqual(result.violations, []);
  const registrations = lines
    .map((l) => JSON.parse(l) as Registration & { msg?: string })
    .filter((e) => e.msg === 'broker lifecycle: registered');
  const of = (node: string): Registration[] => registrations.filter((r) => r.node === node);
  t.log(registrations.map((r) => `${r.t} ${r.node} epoch ${r.brokerEpoch} previous ${r.previousBrokerEpoch}`).join('\n'));
  t.log(states.join('\n'));
  const [first4, again4] = of('n4');
  const [first5, again5] = of('n5');
  if (first4 === undefined || again4 === undefined || first5 === undefined || again5 === undefined) return t.fail('each broker registered twice');
  t.is(first4.previousBrokerEpoch, -1, 'a first start has no marker');
  t.is(again4.previousBrokerEpoch, first4.brokerEpoch, 'after a clean stop: the epoch it held');
  t.is(again5.previousBrokerEpoch, -1, 'after a crash: no marker');
  t.true(lines.some((l) => l.includes('"node":"n4"') && l.includes('clean-shutdown marker written')));

  // Broker 4 left the ISR for the ELR at its controlled shutdown, and its clean return never demoted it.
  t.true(states.some((s) => s.includes('"isr":[5],"elr":[4]')), 'the clean stop moved 4 into the ELR');
  t.false(states.some((s) => /"lastKnownElr":\[[^\]]*4/.test(s)), 'broker 4 was never taken for unclean');
  // Broker 5 joined the ELR when it was fenced, and left it for the last known ELR when it registered after the crash.
  const fenced5 = states.findIndex((s) => s.includes('"isr":[4],"elr":[5]'));
  const demoted5 = states.findIndex((s) => s.includes('"elr":[],"lastKnownElr":[5]'));
  t.true(fenced5 >= 0, 'the crashed broker joined the ELR when it was fenced');
  t.true(demoted5 > fenced5, 'its unclean registration moved it to the last known ELR');
  t.true(result.convergedAfterMs !== undefined, 'the cluster healed: both back in the ISR');
});
