// The replication scenarios of specs/schedules/data-*.json: whole Raftline nodes (three controllers, three brokers)
// with producers and a consumer on the real wire, each scenario's faults, and the verdict it states in `expect` —
// no loss in the safe configuration, and in the unsafe ones the lost writes reported with the cause that explains them.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import type { HistoryEvent } from '../../sim/checkers/data.js';
import { runSchedule, type RunResult } from '../../sim/runner.js';
import { parseSchedule, type Schedule } from '../../sim/schedule.js';
import { clusterWorldOf } from '../../sim/systems/cluster.js';

const dir = new URL('../schedules/', import.meta.url);
const scenarios = readdirSync(dir).filter((f) => f.startsWith('data-') && f.endsWith('.json')).sort();

function load(name: string): Schedule {
  return parseSchedule(JSON.parse(readFileSync(new URL(name, dir), 'utf8')));
}

const results = new Map<string, { result: RunResult; history: readonly HistoryEvent[] }>();

async function run(name: string): Promise<{ result: RunResult; history: readonly HistoryEvent[] }> {
  const known = results.get(name);
  if (known !== undefined) return known;
  const schedule = load(name);
  const result = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
  const out = { result, history: clusterWorldOf(schedule).data.history };
  results.set(name, out);
  return out;
}

/**
 * Scenarios whose verdict differs from the expected one because of a known bug in the system under test. ava's
 * `test.failing` passes while they fail, and fails — so this entry must go — once the bug is fixed.
 */
const knownFailures = new Map<string, string>([]);

for (const name of scenarios) {
  const known = knownFailures.get(name);
  (known === undefined ? test.serial : test.serial.failing)(`scenario ${name}: ${known === undefined ? (load(name).expect?.why ?? '') : `KNOWN FAILURE: ${known}`}`, async (t) => {
    const { result, history } = await run(name);
    for (const v of result.violations.slice(0, 3)) t.log(`[${v.checker}] ${v.message.slice(0, 300)}`);
    const acked = history.filter((e) => e.type === 'send.ok').length;
    t.log(`${history.filter((e) => e.type === 'send.invoke').length} sends, ${acked} acknowledged, ${history.filter((e) => e.type === 'read').length} reads, ${result.events} events`);
    t.is(result.unexpected, null, String(result.unexpected));
    t.true(acked > 0, 'the workload got writes acknowledged');
  });
}

test.serial('scenario data-min-insync-two-down: producers are refused with NOT_ENOUGH_REPLICAS, then resume after the restart', async (t) => {
  const { history } = await run('data-min-insync-two-down.json');
  const refused = history.filter((e) => e.type === 'send.fail' && e.code === 'NOT_ENOUGH_REPLICAS');
  t.true(refused.length > 0, 'some sends were refused for want of in-sync replicas');
  t.true(history.some((e) => e.type === 'send.ok' && e.t > 8_000), 'writes were acknowledged again after the restart');
});

test.serial('scenario data-unclean-disabled-offline: nothing is acknowledged while the only in-sync replica is down', async (t) => {
  const { history } = await run('data-unclean-disabled-offline.json');
  // Broker 4 crashed at 6 s and came back at 10 s; its session expired about 2 s after the crash.
  const during = history.filter((e) => e.type === 'send.ok' && e.t > 8_500 && e.t < 10_000);
  t.deepEqual(during, [], 'the partition was offline: no leader, no acknowledgement');
  t.false(history.some((e) => e.type === 'election' && e.unclean), 'no unclean election');
});

test.serial('scenario data-unclean-stale-follower: the same seed gives the same trace hash', async (t) => {
  const first = await run('data-unclean-stale-follower.json');
  const schedule = load('data-unclean-stale-follower.json');
  const again = await runSchedule({ schedule, seed: schedule.seed ?? 1 });
  t.is(again.traceHash, first.result.traceHash);
  t.is(again.events, first.result.events);
});

test.serial('scenario data-last-replica-standing-elr: the unclean leader never leads again; the partition waits offline for the clean ELR member', async (t) => {
  const { history } = await run('data-last-replica-standing-elr.json');
  const elections = history.filter((e) => e.type === 'election');
  // Broker 4 lost its unsynced tail at 7.5 s and was back (unfenced) from about 11 s; broker 5 restarted at 12.5 s.
  t.false(elections.some((e) => e.type === 'election' && e.t > 7_500 && e.leader === 4), 'the broker that restarted uncleanly was never elected');
  const next = elections.find((e) => e.t > 7_500);
  t.like(next, { leader: 5, unclean: false }, 'the next leader is the cleanly stopped ELR member');
  t.true(next !== undefined && next.t > 12_500, 'and only once it was back');
  t.deepEqual(history.filter((e) => e.type === 'send.ok' && e.t > 7_500 && e.t < 12_500), [], 'nothing was acknowledged while the partition was offline');
});

test.serial('scenario data-last-replica-standing-elr-off: without ELR the broker that lost its tail leads again as soon as it is back', async (t) => {
  const { history } = await run('data-last-replica-standing-elr-off.json');
  const next = history.find((e) => e.type === 'election' && e.t > 7_500);
  t.like(next, { leader: 4, unclean: false }, 'a clean election by the ISR rule, of a log that lost acknowledged records');
  t.true(next !== undefined && next.t < 12_500, 'before the broker that holds them returned');
});
