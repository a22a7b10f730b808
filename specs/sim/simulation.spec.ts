// Runs share process-wide seals (Math.random, Date, timers), so every test here is serial.
import test from 'ava';
import { every } from '../../src/runtime/clock.js';
import { DiskIoError, DiskNotFoundError } from '../../src/runtime/errors.js';
import type { CrashModel, DiskFault, SimDiskLike } from '../../sim/runtime/disk-port.js';
import { runSchedule } from '../../sim/runner.js';
import { parseSchedule, type ScheduleInput } from '../../sim/schedule.js';
import type { SimSystem } from '../../sim/system.js';

/** In-file stand-in for SimDisk: whole-file atomic writes only, and a log of the fault hooks the simulator calls. */
class StandInDisk implements SimDiskLike {
  readonly files = new Map<string, Uint8Array>();
  readonly calls: string[] = [];
  /** When set, readFile waits for this promise (to crash a node mid-operation). */
  gate: Promise<void> | null = null;
  private refuse = (path: string): Promise<never> => Promise.reject(new DiskIoError(path, 'not in the stand-in'));
  open = (path: string) => this.refuse(path);
  async readFile(path: string): Promise<Uint8Array> {
    if (this.gate !== null) await this.gate;
    const f = this.files.get(path);
    if (f === undefined) throw new DiskNotFoundError(path);
    return f;
  }
  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.files.set(path, data.slice());
    return Promise.resolve();
  }
  rename = (p: string) => this.refuse(p);
  remove = (p: string) => this.refuse(p);
  removeDir = (p: string) => this.refuse(p);
  mkdir = (p: string) => this.refuse(p);
  list = (p: string) => this.refuse(p);
  exists = (p: string) => Promise.resolve(this.files.has(p));
  stat = (p: string) => this.refuse(p);
  syncDir = (p: string) => this.refuse(p);
  crash(): void {
    this.calls.push('crash');
  }
  setCrashModel(m: CrashModel): void {
    this.calls.push(`crash-model ${JSON.stringify(m)}`);
  }
  injectFault(f: DiskFault): void {
    this.calls.push(`fault ${JSON.stringify(f)}`);
  }
  flipBit(path: string, byteOffset?: number): void {
    this.calls.push(`flip ${path} ${String(byteOffset)}`);
  }
  usedBytes(): number {
    return [...this.files.values()].reduce((s, f) => s + f.length, 0);
  }
}

/** A probe system: every node counts its boots on disk, then ticks every 100 ms; everything lands in `log`. */
function probe(log: string[], extra?: (nodeId: number) => void): SimSystem {
  return {
    name: 'probe',
    createNode(ctx) {
      const { clock, disk } = ctx.runtime;
      let stopTicks = (): void => {};
      return {
        async start() {
          const previous = (await disk.exists('boots')) ? (await disk.readFile('boots'))[0]! : 0;
          await disk.writeFileAtomic('boots', Uint8Array.of(previous + 1));
          log.push(`n${ctx.nodeId}#${ctx.incarnation} boot ${previous + 1} @${clock.monotonicMs()} wall+${clock.now() - Date.UTC(2025, 0, 1)}`);
          stopTicks = every(clock, 100, () => log.push(`n${ctx.nodeId}#${ctx.incarnation} tick @${clock.monotonicMs()}`));
          extra?.(ctx.nodeId);
        },
        stop: () => stopTicks(),
      };
    },
  };
}

const base = (faults: ScheduleInput['faults'], safetyMs = 1000): ScheduleInput => ({
  version: 1,
  system: 'probe',
  cluster: { nodes: [{ id: 1 }, { id: 2 }] },
  faults,
  phases: { safetyMs, livenessMs: 100 },
});

test.serial('process: a crash stops the node\'s timers; a restart boots new actors that recover from disk', async (t) => {
  const log: string[] = [];
  const r = await runSchedule({
    schedule: parseSchedule(base([{ at: 250, kind: 'crash', node: 1 }, { at: 600, kind: 'restart', node: 1 }])),
    seed: 1,
    system: probe(log),
    createDisk: () => new StandInDisk(),
  });
  t.true(r.ok, JSON.stringify(r.violations));
  const n1 = log.filter((l) => l.startsWith('n1'));
  t.true(n1.includes('n1#0 boot 1 @0 wall+0'));
  t.true(n1.includes('n1#0 tick @200'));
  t.false(n1.some((l) => l.startsWith('n1#0 tick') && Number(l.split('@')[1]) > 250));
  t.true(n1.includes('n1#1 boot 2 @600 wall+600'), 'the restarted node read its boot count back from disk');
  t.true(n1.includes('n1#1 tick @700'));
});

test.serial('process: a pause stalls the node\'s timers until it ends; other nodes keep going', async (t) => {
  const log: string[] = [];
  const r = await runSchedule({ schedule: parseSchedule(base([{ at: 150, kind: 'pause', node: 1, durationMs: 420 }])), seed: 1, system: probe(log), createDisk: () => new StandInDisk() });
  t.true(r.ok, JSON.stringify(r.violations));
  const ticks = (n: string) => log.filter((l) => l.startsWith(`${n}#0 tick`)).map((l) => Number(l.split('@')[1]));
  t.deepEqual(ticks('n1').slice(0, 3), [100, 570, 670]);
  t.deepEqual(ticks('n2').slice(0, 6), [100, 200, 300, 400, 500, 600]);
});

test.serial('process: clock skew moves the node\'s wall clock but not its monotonic clock', async (t) => {
  const log: string[] = [];
  const r = await runSchedule({
    schedule: parseSchedule(base([{ at: 100, kind: 'clock-skew', node: 2, skewMs: -5000 }, { at: 200, kind: 'crash', node: 2 }, { at: 300, kind: 'restart', node: 2 }])),
    seed: 1,
    system: probe(log),
    createDisk: () => new StandInDisk(),
  });
  t.true(r.ok, JSON.stringify(r.violations));
  t.true(log.includes('n2#1 boot 2 @300 wall+-4700'));
});

test.serial('disk faults: lose-unsynced, corrupt and disk-fault reach the node\'s disk model', async (t) => {
  const disks: StandInDisk[] = [];
  const r = await runSchedule({
    schedule: parseSchedule(
      base([
        { at: 100, kind: 'disk-fault', node: 1, fault: 'enospc', pathPrefix: 'log/', count: 2 },
        { at: 200, kind: 'corrupt', node: 1, path: 'boots', byteOffset: 0 },
        { at: 300, kind: 'lose-unsynced', node: 1 },
        { at: 400, kind: 'crash', node: 2 },
      ]),
    ),
    seed: 1,
    system: probe([]),
    createDisk: () => {
      const d = new StandInDisk();
      disks.push(d);
      return d;
    },
  });
  t.true(r.ok, JSON.stringify(r.violations));
  t.deepEqual(disks[0]!.calls, ['fault {"kind":"enospc","pathPrefix":"log/","count":2}', 'flip boots 0', 'crash-model {"keep":0,"lose":1,"tear":0,"corrupt":0}', 'crash']);
  t.deepEqual(disks[1]!.calls, ['crash']);
});

test.serial('process: disk calls in flight when a node crashes never settle in the dead incarnation', async (t) => {
  const log: string[] = [];
  const disk = new StandInDisk();
  let open!: () => void;
  disk.gate = new Promise((resolve) => (open = resolve));
  const system: SimSystem = {
    name: 'probe',
    createNode(ctx) {
      return {
        async start() {
          if (ctx.nodeId !== 1) return;
          ctx.runtime.clock.setTimeout(() => open(), 200);
          log.push(`#${ctx.incarnation} reading`);
          try {
            await ctx.runtime.disk.readFile('missing');
          } catch {
            log.push(`#${ctx.incarnation} read settled`);
          }
        },
        stop() {},
      };
    },
  };
  const r = await runSchedule({ schedule: parseSchedule(base([{ at: 100, kind: 'crash', node: 1 }])), seed: 1, system, createDisk: () => disk });
  t.true(r.ok, JSON.stringify(r.violations));
  // Incarnation 0 crashed before its read settled; the liveness phase restarted it and the new read went through.
  t.deepEqual(log, ['#0 reading', '#1 reading', '#1 read settled']);
});

test.serial('guards: a real timer inside a run fails it, and the real globals are back afterwards', async (t) => {
  const realSetTimeout = globalThis.setTimeout;
  const realRandom = Math.random;
  const seen: number[] = [];
  const r = await runSchedule({
    schedule: parseSchedule(base([])),
    seed: 1,
    createDisk: () => new StandInDisk(),
    system: probe([], () => {
      seen.push(Math.random(), Date.now());
      globalThis.setTimeout(() => {}, 10);
    }),
  });
  t.false(r.ok);
  t.is(r.violations[0]?.checker, 'no-real-world');
  t.is(seen[1], Date.UTC(2025, 0, 1));
  t.is(globalThis.setTimeout, realSetTimeout);
  t.is(Math.random, realRandom);
  t.true(Date.now() > Date.UTC(2025, 6, 1));
});

test.serial('checkers: an exception thrown by node code fails the run with no-uncaught-error', async (t) => {
  const system: SimSystem = {
    name: 'probe',
    createNode: (ctx) => ({
      start() {
        ctx.runtime.clock.setTimeout(() => {
          throw new Error('boom');
        }, 50);
      },
      stop() {},
    }),
  };
  const r = await runSchedule({ schedule: parseSchedule(base([])), seed: 1, system, createDisk: () => new StandInDisk() });
  t.false(r.ok);
  t.is(r.violations[0]?.checker, 'no-uncaught-error');
  t.regex(r.violations[0]!.message, /boom/);
  t.is(r.violations[0]?.t, 50);
});

test.serial('guards: performance.now and process.hrtime are refused inside a run and work again after it', async (t) => {
  const r = await runSchedule({
    schedule: parseSchedule(base([])),
    seed: 1,
    createDisk: () => new StandInDisk(),
    system: probe([], () => {
      performance.now();
    }),
  });
  t.false(r.ok);
  t.regex(r.violations[0]!.message, /performance\.now/);
  t.true(performance.now() > 0);
  t.true(process.hrtime.bigint() > 0n);
  t.is(process.hrtime().length, 2);
});
