// Same seed + same schedule => same trace hash, for every scenario under specs/schedules/ (runs are serial: they
// share the process-wide seal).
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, type Schedule } from '../../sim/schedule.js';

const dir = new URL('../schedules/', import.meta.url);
// The replication scenarios (data-*.json) state their own verdicts and are run by data-scenarios.spec.ts, which also
// checks one of them for determinism: running each of those whole clusters twice more here would double their cost.
const scenarios = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('data-')).sort();

const load = (file: string): Schedule => parseSchedule(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));

test.serial('determinism: the scenario directory is not empty', (t) => {
  t.true(scenarios.length > 0);
});

for (const file of scenarios) {
  test.serial(`determinism: ${file} gives the same trace hash twice and passes`, async (t) => {
    const schedule = load(file);
    const seed = schedule.seed ?? 1;
    const first = await runSchedule({ schedule, seed });
    const second = await runSchedule({ schedule, seed });
    t.is(second.traceHash, first.traceHash);
    t.is(second.events, first.events);
    t.true(first.ok, JSON.stringify(first.violations));
  });
}

test.serial('determinism: ping-pong under loss and partitions is reproducible bit for bit, and a different seed differs', async (t) => {
  const schedule = load('ping-pong.json');
  const lines = async (seed: number): Promise<string[]> => {
    const out: string[] = [];
    await runSchedule({ schedule, seed, traceSink: (l) => out.push(l) });
    return out;
  };
  const a = await lines(11);
  const b = await lines(11);
  t.deepEqual(b, a);
  t.true(a.some((l) => l.includes('"ev":"net.drop"')), 'the run exercised dropped frames');
  t.true(a.some((l) => l.includes('"ev":"net.partition"')));
  const other = await runSchedule({ schedule, seed: 12 });
  const same = await runSchedule({ schedule, seed: 11 });
  t.not(other.traceHash, same.traceHash);
});
