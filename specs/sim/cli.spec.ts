// The runner CLI end to end, through the bundle `make test` builds (dist/sim.js, dist/sim-worker.js).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/sim.js');

function sim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'raftline-sim-cli-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test.before((t) => {
  if (!existsSync(cli)) t.fail('dist/sim.js is missing: run `make build` (make test does) first');
});

test('cli: run plays the ping-pong schedule end to end and checks determinism', async (t) => {
  const r = await sim('run', '--schedule', 'specs/schedules/ping-pong.json', '--check-determinism');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^PASS ping-pong seed=7 hash=[0-9a-f]{16} /m);
  t.regex(r.stdout, /deterministic/);
});

test('cli: explore runs seeds on worker threads and prints a summary table', async (t) => {
  const r = await sim('explore', '--seeds', '4', '--from', '100', '--jobs', '2');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /seeds\s+4/);
  t.regex(r.stdout, /passed\s+4/);
  t.regex(r.stdout, /on 2 job\(s\)/);
});

test('cli: explore --wire-check runs the same seeds with encoded frames to the same events and verdicts', async (t) => {
  const args = ['explore', '--seeds', '3', '--from', '40', '--jobs', '2', '--schedule', 'specs/schedules/raft-3.json'];
  const [inProcess, bytes] = [await sim(...args), await sim(...args, '--wire-check')];
  t.is(inProcess.code, 0, inProcess.stdout + inProcess.stderr);
  t.is(bytes.code, 0, bytes.stdout + bytes.stderr);
  const events = (out: string): string | undefined => /^events\s+(\d+)$/m.exec(out)?.[1];
  t.truthy(events(bytes.stdout));
  t.is(events(bytes.stdout), events(inProcess.stdout));
  t.regex(bytes.stdout, /passed\s+3/);
});

test('cli: a trace file replays to the same events, and a tampered one is caught', async (t) => {
  const trace = join(tmp, 'pp.ndjson');
  t.is((await sim('run', '--schedule', 'specs/schedules/ping-pong.json', '--seed', '3', '--trace', trace)).code, 0);
  const replay = await sim('replay', '--trace', trace);
  t.is(replay.code, 0, replay.stdout + replay.stderr);
  t.regex(replay.stdout, /replay matches the recorded trace/);
  const lines = readFileSync(trace, 'utf8').split('\n');
  lines[5] = lines[5]!.replace('"t":', '"t":1');
  writeFileSync(join(tmp, 'bad.ndjson'), lines.join('\n'));
  const bad = await sim('replay', '--trace', join(tmp, 'bad.ndjson'));
  t.is(bad.code, 1);
  t.regex(bad.stdout, /DIVERGED at event 4/);
});

test('cli: a failing seed prints the command that reproduces it and saves the schedule and its shrunk form', async (t) => {
  const schedule = {
    version: 1,
    system: 'ping-pong',
    cluster: { nodes: [{ id: 1 }, { id: 2 }] },
    workload: { params: { rounds: 10, bug: 'no-retry' } },
    faults: [
      { at: 100, kind: 'pause', node: 2, durationMs: 50 },
      { at: 300, kind: 'link', model: { loss: 1 } },
      { at: 800, kind: 'link', model: { loss: 0 } },
    ],
    phases: { safetyMs: 1000, livenessMs: 3000 },
  };
  const file = join(tmp, 'bug.json');
  writeFileSync(file, JSON.stringify(schedule));
  const out = join(tmp, 'out');
  const r = await sim('run', '--schedule', file, '--seed', '5', '--out', out);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /violation \[liveness\]/);
  t.true(existsSync(join(out, 'failing-seed-5.json')));
  t.true(existsSync(join(out, 'shrunk-seed-5.json')));
  const shrunk = JSON.parse(readFileSync(join(out, 'shrunk-seed-5.json'), 'utf8')) as { faults: unknown[] };
  t.true(shrunk.faults.length < schedule.faults.length);
  const command = /reproduce: node dist\/sim\.js (.*)$/m.exec(r.stdout)?.[1];
  t.truthy(command);
  const again = await sim(...command!.split(' '));
  t.is(again.code, 1);
  t.regex(again.stdout, /violation \[liveness\]/);
});

test('cli: a seed that fails under --wire-check is shrunk and reproduced with --wire-check', async (t) => {
  const schedule = {
    version: 1,
    system: 'ping-pong',
    cluster: { nodes: [{ id: 1 }, { id: 2 }] },
    workload: { params: { rounds: 10, bug: 'no-retry' } },
    faults: [{ at: 300, kind: 'link', model: { loss: 1 } }, { at: 800, kind: 'link', model: { loss: 0 } }],
    phases: { safetyMs: 1000, livenessMs: 3000 },
  };
  const file = join(tmp, 'bug-wire.json');
  writeFileSync(file, JSON.stringify(schedule));
  const r = await sim('run', '--schedule', file, '--seed', '5', '--out', join(tmp, 'out-wire'), '--wire-check');
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /reproduce: node dist\/sim\.js run --schedule \S+ --seed 5 --wire-check$/m);
});

test('cli: bad input exits 2 with a clear message', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['launch'], /unknown command "launch"/],
    [['run'], /run needs --schedule FILE/],
    [['run', '--schedule', 'nope.json'], /cannot read schedule nope\.json/],
    [['explore', '--seeds', 'many'], /--seeds must be an integer >= 1/],
    [['run', '--schedule', 'specs/schedules/ping-pong.json', '--colour', 'red'], /unknown option --colour/],
  ];
  for (const [args, message] of cases) {
    const r = await sim(...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
  }
  const invalid = join(tmp, 'invalid.json');
  writeFileSync(invalid, JSON.stringify({ version: 1, system: 'ping-pong', cluster: { nodes: [] } }));
  const r = await sim('run', '--schedule', invalid);
  t.is(r.code, 2);
  t.regex(r.stderr, /cluster\.nodes/);
});

test('cli: bench reports the raft quorum and the whole-node cluster, idle and under load, per wall and per CPU second', async (t) => {
  // Tiny runs: this checks what bench measures and prints, not the speed (docs/simulator.md has the numbers).
  const r = await sim('bench', '--system', 'all', '--virtual-s', '5', '--load-virtual-s', '2', '--rate', '10');
  t.is(r.code, 0, r.stdout + r.stderr);
  for (const line of ['ping-pong idle', 'raft-quorum idle', 'raft-quorum load', 'cluster idle', 'cluster load']) {
    t.regex(r.stdout, new RegExp(`^${line} \\(.*\\d+x per wall s, .*\\d+x per CPU s; \\d+ events, \\d+ steps`, 'm'), `${line}: ${r.stdout}`);
  }
  t.regex(r.stdout, /cluster load \(3 combined nodes, 10 records\/s acks=all/);
  t.notRegex(r.stdout, /FAILED/);
});

test('cli: bench and run accept --wire-check (every frame encoded and validated); bench refuses an unknown system', async (t) => {
  const check = await sim('bench', '--system', 'raft-quorum', '--load', 'idle', '--virtual-s', '5', '--wire-check');
  t.is(check.code, 0, check.stdout + check.stderr);
  t.regex(check.stdout, /^raft-quorum idle --wire-check /m);
  const run = await sim('run', '--schedule', 'specs/schedules/raft-3.json', '--wire-check');
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /^PASS raft-quorum /m);
  const bad = await sim('bench', '--system', 'nope');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--system must be one of/);
});
