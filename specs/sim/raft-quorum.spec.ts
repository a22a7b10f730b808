// The Raft quorum under the simulator: the 3- and 5-voter schedules pass their safety and liveness phases and are
// deterministic (same seed, same trace hash); a small swarm of generated fault schedules finds no violation; and
// planted durability bugs are caught by the checker that names them. Runs share process-wide seals: serial.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { generateSchedule } from '../../sim/generator.js';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, type Schedule, type ScheduleInput } from '../../sim/schedule.js';

function load(name: string): Schedule {
  return parseSchedule(JSON.parse(readFileSync(new URL(`../schedules/${name}`, import.meta.url), 'utf8')));
}

const swarmSeeds = Number(process.env['RAFT_SIM_SEEDS'] ?? 12);

for (const name of ['raft-3.json', 'raft-5.json']) {
  test.serial(`raft-quorum: ${name} passes safety then liveness, with the same trace hash on a second run`, async (t) => {
    const schedule = load(name);
    const first = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
    t.deepEqual(first.violations, []);
    t.true(first.ok);
    t.not(first.convergedAfterMs, undefined);
    const second = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
    t.is(second.traceHash, first.traceHash, 'same seed and schedule must give a byte-identical trace');
    t.is(second.events, first.events);
  });

  test.serial(`raft-quorum: ${swarmSeeds} swarm schedules over ${name} show no violation`, async (t) => {
    const base = load(name);
    for (let seed = 1; seed <= swarmSeeds; seed++) {
      const schedule = generateSchedule(base, seed);
      const r = await runSchedule({ schedule, seed });
      t.deepEqual(r.violations, [], `seed ${seed}`);
    }
  });
}

/** Three voters under load; twice, every node loses its unsynced writes at once (a rack-wide power cut). */
function powerCuts(bug: string): Schedule {
  const faults: ScheduleInput['faults'] = [];
  for (const at of [3_000, 6_000]) {
    for (const node of [1, 2, 3]) faults.push({ at, kind: 'lose-unsynced', node });
    for (const node of [1, 2, 3]) faults.push({ at: at + 300, kind: 'restart', node });
  }
  return parseSchedule({
    version: 1,
    system: 'raft-quorum',
    cluster: { nodes: [1, 2, 3].map((id) => ({ id, roles: ['broker', 'controller'] })) },
    workload: { params: { proposals: 150, proposalsPerSec: 25, bug } },
    network: { latencyMinMs: 1, latencyMaxMs: 10 },
    faults,
    phases: { safetyMs: 10_000, livenessMs: 20_000 },
  });
}

test.serial('raft-quorum: power cuts lose nothing when the log and quorum state are synced', async (t) => {
  for (const seed of [1, 2, 3]) {
    const r = await runSchedule({ schedule: powerCuts('none'), seed });
    t.deepEqual(r.violations, [], `seed ${seed}`);
  }
});

test.serial('raft-quorum: the durable log on a disk that drops fsyncs loses committed entries at a power cut, and a checker says so', async (t) => {
  const caught = new Set(['raft.leader-completeness', 'raft.acked-committed', 'raft.state-machine-safety', 'raft.log-matching']);
  for (const seed of [1, 2, 3]) {
    const r = await runSchedule({ schedule: powerCuts('no-fsync'), seed });
    t.false(r.ok, `seed ${seed} should fail`);
    t.true(caught.has(r.violations[0]?.checker ?? ''), `seed ${seed}: ${JSON.stringify(r.violations)}`);
  }
});

test.serial('raft-quorum: a quorum-state store that forgets votes at a crash is caught by raft.durable-vote', async (t) => {
  for (const seed of [1, 2, 3]) {
    const r = await runSchedule({ schedule: powerCuts('volatile-vote'), seed });
    t.is(r.violations[0]?.checker, 'raft.durable-vote', `seed ${seed}: ${JSON.stringify(r.violations)}`);
  }
});
