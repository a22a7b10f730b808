// Seals the process for the length of a simulated run: Math.random, Date.now and `new Date()` read the run's
// seeded stream and virtual time (xstate uses both), and real timers, performance.now, process.hrtime and
// file-system calls throw. Invariant: at most one run holds the seal at a time, and uninstall restores exactly
// what install replaced.
import { createRequire, syncBuiltinESMExports } from 'node:module';

/** The real setImmediate, taken before any run can replace it: the scheduler uses it to let promise jobs settle. */
const realSetImmediate: typeof setImmediate = globalThis.setImmediate;

export function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => {
    realSetImmediate(resolve);
  });
}

export interface GuardHooks {
  random: () => number;
  nowMs: () => number;
  /** Called with what was attempted before the guard throws (so a swallowed throw still fails the run). */
  violation: (what: string) => void;
}

const require = createRequire(import.meta.url);
const fs = require('node:fs') as Record<string, unknown> & { promises: Record<string, unknown> };

const fsSyncNames = ['readFileSync', 'writeFileSync', 'appendFileSync', 'openSync', 'readdirSync', 'mkdirSync', 'rmSync', 'unlinkSync', 'renameSync', 'statSync'];
const fsCallbackNames = ['readFile', 'writeFile', 'appendFile', 'open', 'readdir', 'mkdir', 'rm', 'unlink', 'rename', 'stat'];
const fsPromiseNames = ['readFile', 'writeFile', 'appendFile', 'open', 'readdir', 'mkdir', 'rm', 'unlink', 'rename', 'stat'];

let active = false;

/** Installs the seal and returns the function that removes it. Throws if another run is sealed in this process. */
export function installGuards(hooks: GuardHooks): () => void {
  if (active) throw new Error('simulator: another run is already in progress in this process (runs are exclusive)');
  active = true;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  const savedFs = new Map<string, unknown>();
  const savedFsPromises = new Map<string, unknown>();
  const RealDate = Date;

  const refuse = (what: string) =>
    function refused(): never {
      hooks.violation(what);
      throw new Error(`simulator: ${what} during a simulated run (use the runtime seam)`);
    };

  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    saved.set(name, g[name]);
    g[name] = refuse(`real ${name}`);
  }
  // Monotonic real clocks: refused like timers (the simulator measures its own wall time outside the seal).
  const perf = globalThis.performance as unknown as Record<string, unknown>;
  const realPerfNow = perf['now'];
  const realHrtime = process.hrtime;
  perf['now'] = refuse('performance.now');
  const sealedHrtime = refuse('process.hrtime') as unknown as Record<string, unknown>;
  sealedHrtime['bigint'] = refuse('process.hrtime.bigint');
  process.hrtime = sealedHrtime as unknown as typeof process.hrtime;
  saved.set('Math.random', Math.random);
  Math.random = hooks.random;

  class SimDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(hooks.nowMs());
      else super(...(args as [number]));
    }
    static override now(): number {
      return hooks.nowMs();
    }
  }
  saved.set('Date', RealDate);
  g['Date'] = SimDate;

  for (const name of [...fsSyncNames, ...fsCallbackNames]) {
    savedFs.set(name, fs[name]);
    fs[name] = refuse(`fs.${name}`);
  }
  for (const name of fsPromiseNames) {
    savedFsPromises.set(name, fs.promises[name]);
    fs.promises[name] = refuse(`fs.promises.${name}`);
  }
  syncBuiltinESMExports();

  return () => {
    for (const name of ['setTimeout', 'setInterval', 'setImmediate']) g[name] = saved.get(name);
    Math.random = saved.get('Math.random') as () => number;
    // performance.now lives on the prototype: deleting the own property brings it back.
    delete perf['now'];
    if (perf['now'] !== realPerfNow) perf['now'] = realPerfNow;
    process.hrtime = realHrtime;
    g['Date'] = RealDate;
    for (const [name, fn] of savedFs) fs[name] = fn;
    for (const [name, fn] of savedFsPromises) fs.promises[name] = fn;
    syncBuiltinESMExports();
    active = false;
  };
}
