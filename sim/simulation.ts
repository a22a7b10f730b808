// One simulated run: the virtual clock, the seeded random streams, the network, one process per node (with its disk,
// crash/restart/pause/skew), the trace and the checkers, driven by a single-threaded scheduler loop. Invariant: the
// run is a pure function of (seed, schedule, system code) — every source of time, randomness and ordering is ours.
import type { Logger, LogLevel } from '../src/runtime/logger.js';
import type { Random } from '../src/runtime/random.js';
import { setInProcessFrames } from '../src/wire/in-process.js';
import { createSeededRandom } from '../src/runtime/seeded-random.js';
import { installGuards, settleMicrotasks } from './runtime/guards.js';
import { createNodeRuntime, traceLogger } from './runtime/node-runtime.js';
import { SimNetwork, type LinkModel, type NetProcess } from './runtime/sim-network.js';
import { simEpochMs, VirtualClock, type TimerOwner } from './runtime/virtual-clock.js';
import type { CrashModel, DiskFactory, SimDiskLike } from './runtime/disk-port.js';
import { defaultCrashModel } from './runtime/disk.js';
import type { Fault, Schedule } from './schedule.js';
import type { Checker, Phase, SimNode, SimSystem, Violation } from './system.js';
import { Trace, type TraceSink } from './trace.js';

export interface SimulationOptions {
  seed: number | bigint | string;
  schedule: Schedule;
  system: SimSystem;
  createDisk: DiskFactory;
  /** Extra checkers beside the generic ones and the system's own. */
  checkers?: Checker[];
  traceSink?: TraceSink;
  /** Log lines below this level are not traced (default 'info'). */
  logLevel?: LogLevel;
  /** Abort the run (a failure) when more than this many timers fired: a livelock guard. */
  stepsMax?: number;
  /**
   * How frames cross the simulated network: 'in-process' (default) hands each receiver a private copy of the
   * sender's message, skipping CBOR and zod (src/wire/in-process.ts); 'bytes' encodes, decodes and validates every
   * frame as the real network does (`--wire-check`).
   */
  wire?: WireMode;
}

export type WireMode = 'in-process' | 'bytes';

/** One node's process: survives crashes (its disk does), its incarnations do not. */
export class SimProcess implements TimerOwner, NetProcess {
  incarnation = 0;
  pausedUntilMs = 0;
  skewMs = 0;
  up = false;
  /** The crash model the disk holds now (the disk has no getter): what a crash with `unsynced: 'keep'` restores. */
  crashModel: CrashModel = { ...defaultCrashModel };
  node: SimNode | null = null;
  restarts = 0;
  readonly nodeId: string;
  readonly host: string;
  readonly owner: TimerOwner = this;

  constructor(
    readonly id: number,
    readonly roles: readonly string[],
    readonly disk: SimDiskLike,
    readonly random: Random,
  ) {
    this.nodeId = `n${id}`;
    this.host = `n${id}`;
  }
}

export class Simulation {
  readonly clock = new VirtualClock();
  readonly trace: Trace;
  readonly network: SimNetwork;
  readonly processes = new Map<number, SimProcess>();
  readonly violations: Violation[] = [];
  readonly schedule: Schedule;
  readonly system: SimSystem;
  /** Counters the generic checkers read (real-world access attempts, uncaught errors). */
  readonly counters = { realWorldAccess: 0, uncaughtErrors: 0 };
  phase: Phase = 'safety';
  private readonly root: Random;
  private readonly globalRandom: Random;
  private readonly checkers: Checker[] = [];
  private readonly failers = new Map<string, (message: string) => void>();
  private readonly logLevel: LogLevel;
  private readonly stepsMax: number;
  private started = false;

  constructor(private readonly options: SimulationOptions) {
    this.schedule = options.schedule;
    this.system = options.system;
    this.root = createSeededRandom(options.seed);
    this.globalRandom = this.root.split('globals');
    this.logLevel = options.logLevel ?? 'info';
    this.stepsMax = options.stepsMax ?? 50_000_000;
    this.trace = new Trace(() => this.clock.nowMs(), options.traceSink ?? null);
    this.network = new SimNetwork({
      clock: this.clock,
      random: this.root.split('fault/network'),
      trace: this.trace,
      link: stripUndefined(options.schedule.network),
    });
    for (const n of options.schedule.cluster.nodes) {
      const disk = options.createDisk({ random: this.root.split(`fault/disk/${n.id}`), name: `n${n.id}` });
      this.processes.set(n.id, new SimProcess(n.id, n.roles, disk, this.root.split(`node/${n.id}`)));
    }
    this.trace.subscribe((event) => {
      for (const c of this.checkers) if (c.onEvent !== undefined) c.onEvent(event, this.failer(c.name));
    });
  }

  /** The logger of the simulator itself and of workloads that do not run on a node (node '-'). */
  get log(): Logger {
    return traceLogger(this.trace, '-', this.logLevel, { actor: 'sim' });
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  process(id: number): SimProcess {
    const p = this.processes.get(id);
    if (p === undefined) throw new Error(`simulation: no node ${id}`);
    return p;
  }

  /** Records a broken invariant; the scheduler loop stops at the first. */
  fail(checker: string, message: string): void {
    this.violations.push({ checker, message, t: this.clock.nowMs(), phase: this.phase });
    this.trace.record('-', 'check.fail', { checker, message });
  }

  addChecker(checker: Checker): void {
    this.checkers.push(checker);
  }

  /** Runs `body` with the process sealed (seeded Math.random, virtual Date, real timers and fs refused). */
  async sealed<T>(body: () => Promise<T>): Promise<T> {
    const wasInProcess = setInProcessFrames((this.options.wire ?? 'in-process') === 'in-process');
    const unseal = installGuards({
      random: () => this.globalRandom.next(),
      nowMs: () => simEpochMs + this.clock.nowMs(),
      violation: (what) => {
        this.counters.realWorldAccess++;
        this.fail('no-real-world', `${what} was called during the run`);
      },
    });
    try {
      return await body();
    } finally {
      unseal();
      setInProcessFrames(wasInProcess);
    }
  }

  /** Boots every node and schedules the faults. Call inside `sealed`. */
  start(extraCheckers: readonly Checker[] = []): void {
    if (this.started) throw new Error('simulation: start called twice');
    this.started = true;
    for (const c of extraCheckers) this.checkers.push(c);
    for (const c of this.options.checkers ?? []) this.checkers.push(c);
    for (const c of this.system.checkers?.(this) ?? []) this.checkers.push(c);
    this.trace.record('-', 'sim.start', { system: this.system.name, seed: String(this.options.seed), nodes: [...this.processes.keys()] });
    for (const p of this.processes.values()) this.boot(p);
    for (const fault of this.schedule.faults) {
      this.clock.schedule(null, fault.at - this.clock.nowMs(), () => {
        void this.applyFault(fault);
      });
    }
  }

  /** Fires timers in order up to virtual time `limitMs` (inclusive), settling promise jobs after each one. */
  async runUntil(limitMs: number, until?: () => boolean): Promise<void> {
    while (!this.failed) {
      if (until !== undefined && until()) return;
      const timer = this.clock.takeNext(limitMs);
      if (timer === undefined) break;
      try {
        timer.fn();
      } catch (error) {
        this.uncaught(timer.owner?.nodeId ?? '-', error);
      }
      await settleMicrotasks();
      for (const c of this.checkers) if (c.onStep !== undefined) c.onStep(this, this.failer(c.name));
      if (this.clock.fired > this.stepsMax) this.fail('steps-bound', `more than ${this.stepsMax} scheduler steps (livelock?)`);
    }
    if (!this.failed && this.clock.nowMs() < limitMs) this.clock.advanceTo(limitMs);
  }

  /** Runs the end-of-phase checks. */
  endPhase(phase: Phase): void {
    for (const c of this.checkers) if (c.atEnd !== undefined && !this.failed) c.atEnd(this, phase, this.failer(c.name));
  }

  /** Lifts every fault: the liveness phase starts from a healed cluster with a reliable network. */
  healAll(): void {
    this.network.heal();
    this.network.setDefaults({ loss: 0, duplicate: 0, reorder: 0 });
    // Per-link faults ('link' with from/to) sit on top of the defaults and must go too.
    this.network.clearLinkFaults();
    for (const p of this.processes.values()) {
      p.pausedUntilMs = 0;
      p.skewMs = 0;
      if (!p.up) this.restart(p.id);
    }
    this.trace.record('-', 'sim.heal-all');
  }

  /** Stops every node gracefully (end of run). */
  stopAll(): void {
    for (const p of this.processes.values()) {
      if (p.up && p.node !== null) {
        try {
          // The run is over: a shutdown still in flight is abandoned with the run, so only its failure to start counts.
          void Promise.resolve(p.node.stop()).catch(() => undefined);
        } catch (error) {
          this.uncaught(p.nodeId, error);
        }
      }
    }
  }

  crash(id: number, why = 'crash'): void {
    const p = this.process(id);
    if (!p.up) {
      this.trace.record(p.nodeId, 'fault.skip', { kind: why, reason: 'already down' });
      return;
    }
    p.up = false;
    p.incarnation++;
    p.pausedUntilMs = 0;
    p.node = null;
    this.trace.record(p.nodeId, `fault.${why}`);
    this.network.hostCrashed(p.host);
    try {
      const report = p.disk.crash();
      if (report instanceof Promise) report.catch((error: unknown) => this.uncaught(p.nodeId, error));
      else if (report !== undefined) this.trace.record(p.nodeId, 'disk.crash', { report });
    } catch (error) {
      this.uncaught(p.nodeId, error);
    }
  }

  /**
   * A clean stop (SIGTERM): the node runs its own shutdown (controlled shutdown, flushes, markers) on virtual time, then
   * the process exits. An exit keeps the page cache, so unsynced writes survive as in a crash with `unsynced: 'keep'`.
   * A crash while stopping wins: the exit is then skipped.
   */
  async stop(id: number): Promise<void> {
    const p = this.process(id);
    const node = p.node;
    if (!p.up || node === null) {
      this.trace.record(p.nodeId, 'fault.skip', { kind: 'stop', reason: 'already down' });
      return;
    }
    const incarnation = p.incarnation;
    this.trace.record(p.nodeId, 'fault.stop');
    try {
      await node.stop();
    } catch (error) {
      this.uncaught(p.nodeId, error);
    }
    if (p.incarnation !== incarnation || !p.up) return;
    p.disk.setCrashModel({ keep: 1, lose: 0, tear: 0, corrupt: 0 });
    this.crash(id, 'exit');
    p.disk.setCrashModel(p.crashModel);
  }

  restart(id: number): void {
    const p = this.process(id);
    if (p.up) {
      this.trace.record(p.nodeId, 'fault.skip', { kind: 'restart', reason: 'already up' });
      return;
    }
    p.restarts++;
    this.trace.record(p.nodeId, 'fault.restart', { incarnation: p.incarnation });
    this.boot(p);
  }

  pause(id: number, durationMs: number): void {
    const p = this.process(id);
    p.pausedUntilMs = Math.max(p.pausedUntilMs, this.clock.nowMs() + durationMs);
    this.trace.record(p.nodeId, 'fault.pause', { untilMs: p.pausedUntilMs });
  }

  private boot(p: SimProcess): void {
    p.up = true;
    const runtime = createNodeRuntime({
      clock: this.clock,
      network: this.network,
      process: p,
      random: p.random.split(`incarnation/${p.incarnation}`),
      disk: p.disk,
      trace: this.trace,
      logLevel: this.logLevel,
    });
    const node = this.system.createNode({
      nodeId: p.id,
      host: p.host,
      roles: p.roles,
      incarnation: p.incarnation,
      runtime,
      schedule: this.schedule,
      hostOf: (id) => this.process(id).host,
    });
    p.node = node;
    this.trace.record(p.nodeId, 'node.start', { incarnation: p.incarnation });
    // start() runs as a timer of the process, so a paused or crashed process does not start behind our back.
    const incarnation = p.incarnation;
    this.clock.schedule(p, 0, () => {
      if (p.incarnation !== incarnation) return;
      void Promise.resolve()
        .then(() => node.start())
        .catch((error: unknown) => {
          if (p.incarnation === incarnation) this.uncaught(p.nodeId, error);
        });
    });
  }

  private async applyFault(fault: Fault): Promise<void> {
    const hosts = (ids: readonly number[] | undefined): string[] =>
      (ids ?? [...this.processes.keys()]).map((id) => this.process(id).host);
    switch (fault.kind) {
      case 'crash': {
        const p = this.process(fault.node);
        if (fault.unsynced !== 'keep') {
          this.crash(fault.node);
          return;
        }
        p.disk.setCrashModel({ keep: 1, lose: 0, tear: 0, corrupt: 0 });
        this.crash(fault.node);
        p.disk.setCrashModel(p.crashModel);
        return;
      }
      case 'restart':
        this.restart(fault.node);
        return;
      case 'stop':
        await this.stop(fault.node);
        return;
      case 'lose-unsynced':
        // A power loss: every unsynced write is gone (not kept, torn or corrupted).
        this.process(fault.node).crashModel = { keep: 0, lose: 1, tear: 0, corrupt: 0 };
        this.process(fault.node).disk.setCrashModel(this.process(fault.node).crashModel);
        this.crash(fault.node, 'lose-unsynced');
        return;
      case 'partition':
        this.network.partition(hosts(fault.from), hosts(fault.to), fault.oneWay);
        return;
      case 'heal':
        this.network.heal();
        return;
      case 'clog':
        for (const a of hosts(fault.from)) for (const b of hosts(fault.to)) this.network.clog(a, b, this.clock.nowMs() + fault.durationMs);
        return;
      case 'link':
        if (fault.from === undefined && fault.to === undefined) this.network.setDefaults(stripUndefined(fault.model));
        else for (const a of hosts(fault.from)) for (const b of hosts(fault.to)) if (a !== b) this.network.setLink(a, b, stripUndefined(fault.model));
        this.trace.record('-', 'fault.link', { from: fault.from, to: fault.to, model: fault.model });
        return;
      case 'pause':
        this.pause(fault.node, fault.durationMs);
        return;
      case 'clock-skew': {
        const p = this.process(fault.node);
        p.skewMs = fault.skewMs;
        this.trace.record(p.nodeId, 'fault.clock-skew', { skewMs: fault.skewMs });
        return;
      }
      case 'corrupt': {
        const p = this.process(fault.node);
        this.trace.record(p.nodeId, 'fault.corrupt', { path: fault.path, byteOffset: fault.byteOffset });
        try {
          await p.disk.flipBit(fault.path, fault.byteOffset);
        } catch (error) {
          // Corrupting a file that does not exist (yet) is not an error of the system under test.
          this.trace.record(p.nodeId, 'fault.skip', { kind: 'corrupt', reason: error instanceof Error ? error.message : String(error) });
        }
        return;
      }
      case 'disk-fault': {
        const p = this.process(fault.node);
        p.disk.injectFault(stripUndefined({ kind: fault.fault, pathPrefix: fault.pathPrefix, op: fault.op, count: fault.count }));
        this.trace.record(p.nodeId, 'fault.disk', { fault: fault.fault, pathPrefix: fault.pathPrefix, op: fault.op, count: fault.count });
        return;
      }
    }
  }

  private uncaught(node: string, error: unknown): void {
    this.counters.uncaughtErrors++;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.trace.record(node, 'node.error', { message });
    this.fail('no-uncaught-error', `node ${node}: ${message}`);
  }

  /** One fail function per checker, made once: checkers run on every step and event, so no closure per call. */
  private failer(name: string): (message: string) => void {
    let fn = this.failers.get(name);
    if (fn === undefined) {
      fn = (message) => this.fail(name, message);
      this.failers.set(name, fn);
    }
    return fn;
  }

  /** An extra random stream for a system's own needs (e.g. a workload generator), independent of every other. */
  stream(label: string): Random {
    return this.root.split(`system/${label}`);
  }
}

/** Drops keys whose value is undefined (zod leaves them; exactOptional-style ports do not want them). */
export function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

export type { LinkModel };
