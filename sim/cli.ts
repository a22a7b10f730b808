// Entry point of `node dist/sim.js`: run one schedule, explore many seeds, replay a trace, or measure speed.
// Exit status: 0 all runs passed, 1 a run failed (the failing seed, its schedule and a shrunk one are saved), 2 bad
// input. Every failure prints the one command that reproduces it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOne, benchSystems, describeBench, type BenchLoad, type BenchOptions, type BenchSystem } from './bench.js';
import { exploreSeeds, type ExploreOutcome } from './explore.js';
import { failureKind, runSchedule, type RunResult } from './runner.js';
import { parseSchedule, ScheduleError, type Schedule } from './schedule.js';
import type { WireMode } from './simulation.js';
import { shrinkSchedule } from './shrink.js';
import { systemNames } from './systems/index.js';
import { pingPongBaseSchedule } from './systems/ping-pong.js';
import { readTraceFile, TraceFileWriter } from './trace-file.js';

const usage = `usage: node dist/sim.js <command> [options]

commands:
  run --schedule FILE [--seed N] [--trace FILE] [--check-determinism] [--no-shrink] [--wire-check]
      run one schedule (seed from --seed, else the schedule's "seed", else 1); --wire-check encodes, decodes
      and validates every frame as the real network does (by default simulated nodes hand each other copies)
  explore --seeds N [--from S] [--jobs J] [--schedule BASE] [--no-shrink] [--wire-check]
      run seeds S..S+N-1, each with a swarm schedule generated from the seed over BASE (default: ping-pong);
      --wire-check as for run (shrinking and the reproduce command keep it)
  replay --trace FILE
      re-run the seed and schedule recorded in a trace file and check the new trace matches it line for line
  bench [--system ping-pong|raft-quorum|cluster|all] [--load idle|load|both] [--virtual-s N] [--load-virtual-s N]
        [--rate N] [--interval-ms N] [--append-linger-ms N] [--wire-check]
      simulated seconds per wall second and per CPU second of a 3-node cluster: idle (default 600 virtual s;
      ping-pong: each node pings its neighbour every --interval-ms, default 500) and under load (default 60
      virtual s at --rate 50: proposals/s for raft-quorum, acks=all records/s for cluster); default: all, both

options:
  --out DIR   where failing schedules are saved (default .sim-out)
`;

class UsageError extends Error {}

type Flags = Map<string, string | true>;

const knownFlags: Record<string, readonly string[]> = {
  run: ['schedule', 'seed', 'trace', 'check-determinism', 'no-shrink', 'out', 'wire-check'],
  explore: ['wire-check', 'seeds', 'from', 'jobs', 'schedule', 'no-shrink', 'out'],
  replay: ['trace'],
  bench: ['system', 'load', 'virtual-s', 'load-virtual-s', 'rate', 'interval-ms', 'append-linger-ms', 'wire-check'],
};
const booleanFlags = new Set(['check-determinism', 'no-shrink', 'wire-check']);

function parseFlags(command: string, args: string[]): Flags {
  const allowed = knownFlags[command]!;
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const name = arg.slice(2);
    if (!allowed.includes(name)) throw new UsageError(`unknown option --${name} for ${command} (allowed: ${allowed.map((f) => `--${f}`).join(' ')})`);
    if (booleanFlags.has(name)) {
      flags.set(name, true);
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function int(flags: Flags, name: string, fallback: number | undefined, min = 0): number {
  const v = str(flags, name);
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function loadSchedule(path: string): Schedule {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read schedule ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`schedule ${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  let schedule: Schedule;
  try {
    schedule = parseSchedule(json);
  } catch (error) {
    if (error instanceof ScheduleError) throw new UsageError(`schedule ${path}: ${error.message}`);
    throw error;
  }
  if (!systemNames().includes(schedule.system)) {
    throw new UsageError(`schedule ${path}: unknown system ${JSON.stringify(schedule.system)} (known: ${systemNames().join(', ')})`);
  }
  return schedule;
}

function speed(virtualMs: number, wallMs: number): string {
  return wallMs > 0 ? `${Math.round(virtualMs / wallMs)}x` : 'inf';
}

function describe(r: RunResult): string {
  return `${r.ok ? 'PASS' : 'FAIL'} ${r.system} seed=${r.seed} hash=${r.traceHash.slice(0, 16)} events=${r.events} virtual=${(r.virtualMs / 1000).toFixed(1)}s wall=${(r.wallMs / 1000).toFixed(2)}s (${speed(r.virtualMs, r.wallMs)})`;
}

/** Saves a failing schedule, shrinks it, saves the shrunk one and prints the command that reproduces it. */
async function reportFailure(schedule: Schedule, seed: number, result: RunResult, out: string, shrink: boolean, wire: WireMode): Promise<void> {
  for (const v of result.violations) console.log(`  violation [${v.checker}] at ${v.t} ms (${v.phase}): ${v.message}`);
  mkdirSync(out, { recursive: true });
  const saved = join(out, `failing-seed-${seed}.json`);
  writeFileSync(saved, `${JSON.stringify({ ...schedule, seed }, null, 2)}\n`);
  let reproduce = saved;
  if (shrink) {
    const s = await shrinkSchedule(schedule, seed, result, (c) => runSchedule({ schedule: c, seed, wire }));
    const shrunk = join(out, `shrunk-seed-${seed}.json`);
    writeFileSync(shrunk, `${JSON.stringify({ ...s.schedule, seed }, null, 2)}\n`);
    console.log(`  shrunk in ${s.runs} runs: ${schedule.faults.length} -> ${s.schedule.faults.length} faults, still failing [${failureKind(s.result)}]`);
    reproduce = shrunk;
  }
  console.log(`  reproduce: node dist/sim.js run --schedule ${reproduce} --seed ${seed}${wire === 'bytes' ? ' --wire-check' : ''}`);
}

async function commandRun(flags: Flags): Promise<number> {
  const path = str(flags, 'schedule');
  if (path === undefined) throw new UsageError('run needs --schedule FILE');
  const schedule = loadSchedule(path);
  const seed = int(flags, 'seed', schedule.seed ?? 1);
  const tracePath = str(flags, 'trace');
  const wire: WireMode = flags.has('wire-check') ? 'bytes' : 'in-process';
  const writer = tracePath === undefined ? undefined : new TraceFileWriter(tracePath, { ev: 'trace.header', format: 1, seed, schedule, ...(wire === 'bytes' ? { wire } : {}) });
  const result = await runSchedule({ schedule, seed, wire, ...(writer !== undefined ? { traceSink: writer.sink } : {}) });
  writer?.finish({ ev: 'trace.end', hash: result.traceHash, events: result.events, ok: result.ok });
  console.log(describe(result));
  if (flags.has('check-determinism')) {
    const again = await runSchedule({ schedule, seed, wire });
    if (again.traceHash !== result.traceHash) {
      console.log(`NONDETERMINISTIC seed=${seed}: trace hash ${result.traceHash} then ${again.traceHash}`);
      return 1;
    }
    console.log(`deterministic: a second run gave the same trace hash`);
  }
  // A scenario that states its expected verdict passes when the verdict matches, violations included.
  if (result.unexpected !== undefined) {
    for (const v of result.violations) console.log(`  violation [${v.checker}] at ${v.t} ms (${v.phase}): ${v.message}`);
    if (result.unexpected === null) {
      console.log(`verdict as expected (${schedule.expect?.violations.length === 0 ? 'no violation' : schedule.expect?.violations.map((v) => v.checker + (v.cause === undefined ? '' : ` (${v.cause})`)).join(', ')})`);
      return 0;
    }
    console.log(`UNEXPECTED verdict: ${result.unexpected}`);
    console.log(`  reproduce: node dist/sim.js run --schedule ${path} --seed ${seed}`);
    return 1;
  }
  if (!result.ok) {
    await reportFailure(schedule, seed, result, str(flags, 'out') ?? '.sim-out', !flags.has('no-shrink'), wire);
    return 1;
  }
  return 0;
}

function progress(done: number, total: number, failed: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed`);
  if (done === total) process.stderr.write('\n');
}

async function commandExplore(flags: Flags): Promise<number> {
  const count = int(flags, 'seeds', undefined, 1);
  const from = int(flags, 'from', 1);
  const jobs = int(flags, 'jobs', 2, 1);
  const basePath = str(flags, 'schedule');
  const wire: WireMode = flags.has('wire-check') ? 'bytes' : 'in-process';
  const base = basePath === undefined ? parseSchedule(pingPongBaseSchedule) : loadSchedule(basePath);
  const seeds = Array.from({ length: count }, (_, i) => from + i);
  let done = 0;
  let failedCount = 0;
  const wallStart = process.hrtime.bigint();
  const outcomes = await exploreSeeds(base, seeds, jobs, (o) => {
    done++;
    if (!o.ok) failedCount++;
    progress(done, count, failedCount);
  }, wire);
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const failed = outcomes.filter((o) => !o.ok);
  printSummary(base.system, outcomes, wallMs, jobs);
  const out = str(flags, 'out') ?? '.sim-out';
  for (const f of failed) {
    console.log(`FAIL seed=${f.seed}`);
    const result: RunResult = { seed: f.seed, system: base.system, ok: false, violations: f.violations, traceHash: f.traceHash, events: f.events, steps: 0, virtualMs: f.virtualMs, wallMs: f.wallMs, convergedAfterMs: undefined };
    await reportFailure(f.schedule, f.seed, result, out, !flags.has('no-shrink'), wire);
  }
  return failed.length > 0 ? 1 : 0;
}

function printSummary(system: string, outcomes: readonly ExploreOutcome[], wallMs: number, jobs: number): void {
  const virtualMs = outcomes.reduce((s, o) => s + o.virtualMs, 0);
  const events = outcomes.reduce((s, o) => s + o.events, 0);
  const byChecker = new Map<string, number[]>();
  for (const o of outcomes) {
    const c = o.violations[0]?.checker;
    if (c !== undefined) byChecker.set(c, [...(byChecker.get(c) ?? []), o.seed]);
  }
  const rows: Array<[string, string]> = [
    ['system', system],
    ['seeds', String(outcomes.length)],
    ['passed', String(outcomes.filter((o) => o.ok).length)],
    ['failed', String(outcomes.filter((o) => !o.ok).length)],
    ['events', String(events)],
    ['simulated', `${(virtualMs / 1000).toFixed(1)} s`],
    ['wall', `${(wallMs / 1000).toFixed(2)} s on ${jobs} job(s)`],
    ['speed', `${speed(virtualMs, wallMs)} real time`],
    ...[...byChecker].map(([c, s]): [string, string] => [`failed [${c}]`, `seeds ${s.slice(0, 10).join(', ')}${s.length > 10 ? ', ...' : ''}`]),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

async function commandReplay(flags: Flags): Promise<number> {
  const path = str(flags, 'trace');
  if (path === undefined) throw new UsageError('replay needs --trace FILE');
  let contents;
  try {
    contents = readTraceFile(path);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const schedule = parseSchedule(contents.header.schedule);
  const lines: string[] = [];
  const result = await runSchedule({ schedule, seed: contents.header.seed, wire: contents.header.wire ?? 'in-process', traceSink: (l) => lines.push(l) });
  console.log(describe(result));
  const n = Math.min(lines.length, contents.lines.length);
  for (let i = 0; i < n; i++) {
    if (lines[i] !== contents.lines[i]) {
      console.log(`DIVERGED at event ${i}:\n  recorded: ${contents.lines[i]}\n  replayed: ${lines[i]}`);
      return 1;
    }
  }
  if (lines.length !== contents.lines.length) {
    console.log(`DIVERGED: recorded ${contents.lines.length} events, replay produced ${lines.length}`);
    return 1;
  }
  if (contents.footer !== undefined && contents.footer.hash !== result.traceHash) {
    console.log(`DIVERGED: recorded hash ${contents.footer.hash}, replay ${result.traceHash}`);
    return 1;
  }
  console.log(`replay matches the recorded trace (${lines.length} events, hash ${result.traceHash.slice(0, 16)})`);
  return result.ok ? 0 : 1;
}

async function commandBench(flags: Flags): Promise<number> {
  const options: BenchOptions = {
    idleVirtualS: int(flags, 'virtual-s', 600, 1),
    loadVirtualS: int(flags, 'load-virtual-s', 60, 1),
    ratePerSec: int(flags, 'rate', 50, 1),
    intervalMs: int(flags, 'interval-ms', 500, 1),
    appendLingerMs: int(flags, 'append-linger-ms', 0, 0),
    wire: flags.has('wire-check') ? 'bytes' : 'in-process',
  };
  const systemFlag = str(flags, 'system') ?? 'all';
  if (systemFlag !== 'all' && !(benchSystems as readonly string[]).includes(systemFlag)) {
    throw new UsageError(`--system must be one of ${[...benchSystems, 'all'].join(', ')}, got ${JSON.stringify(systemFlag)}`);
  }
  const loadFlag = str(flags, 'load') ?? 'both';
  if (!['idle', 'load', 'both'].includes(loadFlag)) throw new UsageError(`--load must be idle, load or both, got ${JSON.stringify(loadFlag)}`);
  const systems = systemFlag === 'all' ? benchSystems : [systemFlag as BenchSystem];
  const loads: BenchLoad[] = loadFlag === 'both' ? ['idle', 'load'] : [loadFlag as BenchLoad];
  let failed = 0;
  for (const system of systems) {
    for (const load of loads) {
      // ping-pong has no workload beyond its heartbeats.
      if (system === 'ping-pong' && load === 'load') continue;
      const result = await benchOne(system, load, options);
      console.log(describeBench(result));
      if (!result.run.ok) failed++;
    }
  }
  return failed > 0 ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  if (!(command in knownFlags)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const flags = parseFlags(command, rest);
  switch (command) {
    case 'run':
      return commandRun(flags);
    case 'explore':
      return commandExplore(flags);
    case 'replay':
      return commandReplay(flags);
    default:
      return commandBench(flags);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`raftline sim: ${error.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
