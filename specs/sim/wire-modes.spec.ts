// The simulator hands messages between nodes as in-process copies by default; `--wire-check` encodes, decodes and
// validates every frame as the real network does. Both must give the same run: the same trace line for line, apart
// from frame sizes (estimated in process). Runs are serial: they share the process-wide seal.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseSchedule, type Schedule } from '../../sim/schedule.js';
import { compareWireModes, withoutFrameSizes } from '../../sim/wire-modes.js';

const load = (file: string): Schedule => parseSchedule(JSON.parse(readFileSync(new URL(`../schedules/${file}`, import.meta.url), 'utf8')));

test('wire modes: only frame sizes are set aside when traces are compared', (t) => {
  t.is(withoutFrameSizes('{"t":1,"i":2,"node":"n1","ev":"net.send","conn":"c1","side":"client","seq":0,"bytes":57,"at":4}'), '{"t":1,"i":2,"node":"n1","ev":"net.send","conn":"c1","side":"client","seq":0,"at":4}');
});

// One schedule per kind of traffic: ping-pong frames under loss and partitions, Raft messages, and the whole cluster's
// RPCs with the data plane (produce, fetch, record batches) through crashes.
for (const file of ['ping-pong-chaos.json', 'raft-3.json', 'data-min-insync-two-down.json']) {
  test.serial(`wire modes: ${file} runs the same with in-process messages and with encoded, validated frames`, async (t) => {
    const schedule = load(file);
    const r = await compareWireModes(schedule, schedule.seed ?? 1);
    t.is(r.firstDifference, null, JSON.stringify(r.firstDifference));
    t.is(r.inProcess.events, r.bytes.events);
    t.true(r.inProcess.ok, JSON.stringify(r.inProcess.violations));
    t.true(r.inProcess.events > 500, 'the run did something');
  });
}
