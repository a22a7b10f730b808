// A tiny deterministic world for Raft interaction tests: a virtual clock (timers fire in (deadline, sequence)
// order), a seeded PRNG, and a message router with latency, loss, partitions, crashes and restarts. It also checks
// Raft's safety properties as the run goes: one leader per epoch, committed entries never conflict and are in every
// later leader's log, logs matching at (offset, epoch) agree before it, and quorum state survives restarts.
import { setImmediate as flushTurn } from 'node:timers/promises';
import type { Clock, Random, TimerHandle } from '../../src/runtime/index.js';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { assertQuorumTransition, initialQuorumState } from '../../src/raft/memory-quorum-store.js';
import { createRaftNode, raftConfig, type RaftNode } from '../../src/raft/node.js';
import type { QuorumState, QuorumStateStore, RaftConfig } from '../../src/raft/ports.js';
import type { RaftEntry, RaftMessage } from '../../src/wire/raft.js';

// ---------------------------------------------------------------- virtual time

interface Timer {
  deadline: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  monotonicMs(): number {
    return this.time;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer: Timer = { deadline: this.time + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    // Kept sorted by (deadline, seq); insertion from the back is cheap because most timers are near-future.
    let i = this.timers.length;
    while (i > 0) {
      const prev = this.timers[i - 1];
      if (prev === undefined || prev.deadline < timer.deadline || (prev.deadline === timer.deadline && prev.seq < timer.seq)) break;
      i--;
    }
    this.timers.splice(i, 0, timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
  }

  /** Fires, in order, every timer due up to `until`, letting promise callbacks settle after each one. */
  async advanceTo(until: number, afterEach?: () => void): Promise<void> {
    await flushTurn();
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.deadline > until) break;
      this.timers.shift();
      if (next.cancelled) continue;
      this.time = next.deadline;
      next.fn();
      await flushTurn();
      afterEach?.();
    }
    this.time = Math.max(this.time, until);
  }
}

/** One node's view of the clock: its timers die with it on a crash. */
export class NodeClock implements Clock {
  private handles = new Set<TimerHandle>();

  constructor(private readonly base: VirtualClock) {}

  now(): number {
    return this.base.now();
  }

  monotonicMs(): number {
    return this.base.monotonicMs();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const handle = this.base.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, delayMs);
    this.handles.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.handles.delete(handle);
    this.base.clearTimeout(handle);
  }

  cancelAll(): void {
    for (const handle of this.handles) this.base.clearTimeout(handle);
    this.handles.clear();
  }
}

// ---------------------------------------------------------------- seeded randomness (the real one arrives at merge)

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: small, fast and good enough to drive schedules. */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  range(min: number, maxExclusive: number): number {
    return min + this.int(maxExclusive - min);
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }

  split(label: string): Random {
    return new SeededRandom((this.state ^ hashLabel(label)) >>> 0);
  }
}

// ---------------------------------------------------------------- durable state that survives crashes

/** A quorum-state store whose writes are durable at once but acknowledged only after a latency (a crash can fall between). */
class SlowQuorumStore implements QuorumStateStore {
  state: QuorumState = { ...initialQuorumState };
  clock: Clock | null = null;

  constructor(private readonly latencyMs: number) {}

  read(): Promise<QuorumState> {
    return Promise.resolve({ ...this.state });
  }

  write(state: QuorumState): Promise<void> {
    assertQuorumTransition(this.state, state);
    this.state = { ...state };
    const clock = this.clock;
    if (clock === null) throw new Error('store used without a clock');
    return new Promise((resolve) => {
      clock.setTimeout(resolve, this.latencyMs);
    });
  }
}

// ---------------------------------------------------------------- the cluster

export interface ClusterOptions {
  seed: number;
  voters: number;
  observers?: number;
  netLatencyMs?: [number, number];
  persistLatencyMs?: number;
  config?: Partial<RaftConfig>;
  /** Record role changes as trace lines. */
  trace?: boolean;
}

interface Member {
  id: number;
  log: MemoryRaftLog;
  store: SlowQuorumStore;
  clock: NodeClock | null;
  node: RaftNode | null;
  generation: number;
  lastRole: string;
  lastEpoch: number;
  /** The durable quorum state at the moment of the last crash, checked again after restart. */
  stateAtCrash: QuorumState | null;
}

export class SafetyViolation extends Error {}

const decoder = new TextDecoder();

export function describeEntry(entry: RaftEntry): string {
  const r = entry.record;
  const what = r.type === 'data' ? JSON.stringify(decoder.decode(r.data)) : `leader-change(${r.leaderId})`;
  return `${entry.offset}@${entry.epoch} ${what}`;
}

export class Cluster {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  private readonly net: Random;
  readonly members = new Map<number, Member>();
  readonly voterIds: number[];
  readonly trace: string[] = [];
  readonly failures: unknown[] = [];
  /** Network faults. */
  private groups: number[][] | null = null;
  dropRate = 0;
  /** Directed links whose next message is lost ("from>to"). */
  private dropNext = new Set<string>();
  private inFlight = new Set<{ timer: TimerHandle; deliver: () => void }>();
  /** Safety bookkeeping. */
  private leaderOfEpoch = new Map<number, number>();
  private committed = new Map<number, { key: string; seenAtEpoch: number }>();
  private injectedReplies = new Map<number, (m: RaftMessage) => void>();
  private readonly latency: [number, number];

  constructor(private readonly options: ClusterOptions) {
    this.random = new SeededRandom(options.seed);
    this.net = this.random.split('network');
    this.latency = options.netLatencyMs ?? [1, 5];
    const observers = options.observers ?? 0;
    this.voterIds = Array.from({ length: options.voters }, (_, i) => i + 1);
    for (let id = 1; id <= options.voters + observers; id++) {
      const store = new SlowQuorumStore(options.persistLatencyMs ?? 2);
      this.members.set(id, { id, log: new MemoryRaftLog(), store, clock: null, node: null, generation: 0, lastRole: 'down', lastEpoch: 0, stateAtCrash: null });
    }
    for (const id of this.members.keys()) this.startNode(id);
  }

  private note(line: string): void {
    if (this.options.trace !== false) this.trace.push(`${this.clock.now()}ms ${line}`);
  }

  member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no node ${id}`);
    return m;
  }

  private startNode(id: number): void {
    const m = this.member(id);
    m.generation++;
    const clock = new NodeClock(this.clock);
    m.clock = clock;
    m.store.clock = clock;
    const node = createRaftNode({
      config: raftConfig(id, this.voterIds, this.options.config),
      clock,
      random: this.random.split(`node-${id}-${m.generation}`),
      log: m.log,
      store: m.store,
      send: (to, message) => this.route(id, to, message),
      listener: {
        onCommit: (entries) => this.recordCommits(id, entries),
        onLoadSnapshot: (snapshotId, bytes) => this.recordSnapshot(id, snapshotId.endOffset, bytes),
      },
    });
    m.node = node;
    node.actor.subscribe({
      next: () => this.observe(m),
      error: (err) => {
        this.failures.push(err);
        this.note(`n${id} FAILED ${String(err)}`);
      },
    });
    node.start();
  }

  /** Called on every snapshot: traces role changes and checks per-node invariants. */
  private observe(m: Member): void {
    const node = m.node;
    if (node === null) return;
    const s = node.status();
    if (s.role === 'loading') return;
    const snapshot = node.actor.getSnapshot();
    if (snapshot.matches({ leader: 'leading' })) {
      const prior = this.leaderOfEpoch.get(s.epoch);
      if (prior !== undefined && prior !== m.id) this.fail(`two leaders in epoch ${s.epoch}: ${prior} and ${m.id}`);
      this.leaderOfEpoch.set(s.epoch, m.id);
    }
    if (s.epoch < m.lastEpoch) this.fail(`n${m.id} epoch went back from ${m.lastEpoch} to ${s.epoch}`);
    if (m.stateAtCrash !== null) {
      const before = m.stateAtCrash;
      m.stateAtCrash = null;
      if (s.epoch !== before.epoch || s.votedFor !== before.votedFor) {
        this.fail(`n${m.id} restarted with epoch ${s.epoch}/vote ${s.votedFor}, had ${before.epoch}/${before.votedFor}`);
      }
    }
    m.lastEpoch = Math.max(m.lastEpoch, s.epoch);
    const shown = `${s.role}/${s.epoch}/${s.role === 'follower' ? s.leaderId : ''}`;
    if (s.role !== 'persisting' && shown !== m.lastRole) {
      m.lastRole = shown;
      this.note(`n${m.id} ${s.role} epoch=${s.epoch}${s.role === 'follower' ? ` leader=${s.leaderId}` : ''}`);
    }
  }

  private fail(message: string): void {
    const err = new SafetyViolation(message);
    this.failures.push(err);
    this.note(`SAFETY ${message}`);
  }

  private recordCommits(id: number, entries: readonly RaftEntry[]): void {
    const epoch = this.member(id).node?.status().epoch ?? 0;
    for (const entry of entries) {
      const key = describeEntry(entry);
      const known = this.committed.get(entry.offset);
      if (known === undefined) this.committed.set(entry.offset, { key, seenAtEpoch: epoch });
      else if (known.key !== key) this.fail(`n${id} committed ${key} where ${known.key} was committed`);
    }
  }

  /** A snapshot holds the committed entries below its end (as the harness encodes them); each must match. */
  private recordSnapshot(id: number, endOffset: number, bytes: Uint8Array): void {
    const keys = JSON.parse(decoder.decode(bytes)) as string[];
    if (keys.length !== endOffset) this.fail(`n${id} loaded a snapshot of ${keys.length} entries ending at ${endOffset}`);
    keys.forEach((key, offset) => {
      const known = this.committed.get(offset);
      if (known !== undefined && known.key !== key) this.fail(`n${id} loaded snapshot entry ${key} where ${known.key} was committed`);
    });
    this.note(`n${id} installed snapshot ending at ${endOffset}`);
  }

  /** Compacts node `id`'s log up to what it has applied; the snapshot content is the committed entries themselves. */
  async snapshot(id: number): Promise<string> {
    const node = this.member(id).node;
    if (node === null) return `n${id} is down`;
    const endOffset = node.actor.getSnapshot().context.appliedOffset;
    const keys = Array.from({ length: endOffset }, (_, o) => this.committed.get(o)?.key ?? '?');
    const snapshotId = await node.createSnapshot(endOffset, new TextEncoder().encode(JSON.stringify(keys)));
    return `n${id} snapshot ${snapshotId.endOffset}@${snapshotId.epoch}`;
  }

  private connected(a: number, b: number): boolean {
    if (this.groups === null) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  /** Messages sent so far, by type (whether or not the network delivered them). */
  readonly sentByType = new Map<string, number>();

  private route(from: number, to: number, message: RaftMessage): void {
    this.sentByType.set(message.type, (this.sentByType.get(message.type) ?? 0) + 1);
    const inject = this.injectedReplies.get(message.correlationId);
    if (inject !== undefined && to === -1) {
      inject(message);
      return;
    }
    if (this.dropNext.delete(`${from}>${to}`)) {
      this.note(`n${from} -> n${to} ${message.type} lost`);
      return;
    }
    if (!this.connected(from, to) || (this.dropRate > 0 && this.net.next() < this.dropRate)) return;
    const [lo, hi] = this.latency;
    const entry = {
      timer: null as TimerHandle,
      deliver: () => {
        this.inFlight.delete(entry);
        const target = this.members.get(to);
        if (target?.node === null || target === undefined || !this.connected(from, to)) return;
        target.node.deliver(message);
      },
    };
    entry.timer = this.clock.setTimeout(entry.deliver, this.net.range(lo, hi + 1));
    this.inFlight.add(entry);
  }

  // -------------------------------------------------------------- commands

  async tick(ms: number): Promise<void> {
    await this.clock.advanceTo(this.clock.now() + ms);
  }

  /** Delivers every message in flight now, and the ones those produce, without moving time (bounded). */
  async deliver(): Promise<void> {
    for (let round = 0; round < 100 && this.inFlight.size > 0; round++) {
      const batch = [...this.inFlight];
      this.inFlight.clear();
      for (const m of batch) {
        this.clock.clearTimeout(m.timer);
        m.deliver();
        await flushTurn();
      }
    }
  }

  partition(groups: number[][]): void {
    this.groups = groups;
  }

  loseNext(from: number, to: number): void {
    this.dropNext.add(`${from}>${to}`);
  }

  heal(): void {
    this.groups = null;
  }

  crash(id: number): void {
    const m = this.member(id);
    if (m.node === null) return;
    m.node.stop();
    m.clock?.cancelAll();
    m.node = null;
    m.clock = null;
    m.lastRole = 'down';
    m.stateAtCrash = { ...m.store.state };
    this.note(`n${id} crashed (durable epoch=${m.store.state.epoch} voted=${m.store.state.votedFor})`);
  }

  /** The host's transport at `at` saw its connection to `peer` reset (what a crashed process looks like on TCP). */
  reportUnreachable(at: number, peer: number): void {
    const node = this.member(at).node;
    if (node === null) return;
    this.note(`n${at} sees its connection to n${peer} reset`);
    node.peerUnreachable(peer);
  }

  restart(id: number): void {
    const m = this.member(id);
    if (m.node !== null) return;
    this.note(`n${id} restarted`);
    this.startNode(id);
  }

  isUp(id: number): boolean {
    return this.member(id).node !== null;
  }

  async propose(id: number, data: string): Promise<string> {
    const node = this.member(id).node;
    if (node === null) return `n${id} is down`;
    let outcome = 'pending';
    void node.propose([new TextEncoder().encode(data)]).then((r) => {
      outcome = r.ok ? `ok offsets=${r.baseOffset}..${r.lastOffset} epoch=${r.epoch}` : `rejected ${r.code} leader=${r.leaderId ?? 'none'}`;
    });
    await flushTurn();
    return outcome;
  }

  /** Delivers a hand-made vote request to `to` and returns the replies it sends back at once or within `waitMs`. */
  async injectVote(to: number, request: { candidateId: number; candidateEpoch: number; preVote: boolean }, waitMs = 20): Promise<string[]> {
    const node = this.member(to).node;
    if (node === null) return [`n${to} is down`];
    const correlationId = 1_000_000 + this.injectedReplies.size;
    const replies: string[] = [];
    this.injectedReplies.set(correlationId, (m) => {
      if (m.type === 'raft.vote.response') replies.push(`n${to} answers: granted=${m.body.voteGranted} epoch=${m.body.leaderEpoch}`);
    });
    node.deliver({
      type: 'raft.vote.request',
      from: -1 as number,
      correlationId,
      body: { ...request, lastOffsetEpoch: 1_000, lastOffset: 1_000 },
    });
    await this.tick(waitMs);
    return replies;
  }

  status(id: number): string {
    const m = this.member(id);
    if (m.node === null) return `n${id} down durable-epoch=${m.store.state.epoch} voted=${m.store.state.votedFor ?? '-'}`;
    const s = m.node.status();
    return `n${id} ${s.role} epoch=${s.epoch} leader=${s.leaderId ?? '-'} voted=${s.votedFor ?? '-'} leo=${s.endOffset} hw=${s.highWatermark}`;
  }

  logOf(id: number): string[] {
    const log = this.member(id).log;
    const snapshot = log.latestSnapshot();
    const head = snapshot === null ? [] : [`snapshot<${snapshot.endOffset}@${snapshot.epoch}`];
    return [...head, ...log.all().map(describeEntry)];
  }

  /** The node leading (in `leading`) with the highest epoch, if any. */
  leader(): { id: number; epoch: number } | null {
    let best: { id: number; epoch: number } | null = null;
    for (const m of this.members.values()) {
      const snapshot = m.node?.actor.getSnapshot();
      if (snapshot?.matches({ leader: 'leading' }) && (best === null || snapshot.context.quorum.epoch > best.epoch)) {
        best = { id: m.id, epoch: snapshot.context.quorum.epoch };
      }
    }
    return best;
  }

  /** A leader that has committed an entry of its own epoch (its LeaderChange), i.e. a working quorum. */
  workingLeader(): number | null {
    const l = this.leader();
    if (l === null) return null;
    const ctx = this.member(l.id).node?.actor.getSnapshot().context;
    return ctx !== undefined && ctx.highWatermark > ctx.epochStartOffset ? l.id : null;
  }

  /** Cross-node safety checks (Log Matching, Leader Completeness); appends violations to `failures`. */
  checkLogs(): void {
    const logs = [...this.members.values()].map((m) => ({ id: m.id, log: m.log }));
    for (let i = 0; i < logs.length; i++) {
      for (let j = i + 1; j < logs.length; j++) {
        const a = logs[i];
        const b = logs[j];
        if (a === undefined || b === undefined) continue;
        const end = Math.min(a.log.endOffset(), b.log.endOffset());
        // Below a log start the entries live on in a snapshot of committed state, checked when it is loaded.
        const start = Math.max(a.log.startOffset(), b.log.startOffset());
        let match = -1;
        for (let o = end - 1; o >= start; o--) {
          if (a.log.entryAt(o)?.epoch === b.log.entryAt(o)?.epoch) {
            match = o;
            break;
          }
        }
        for (let o = start; o <= match; o++) {
          const ea = a.log.entryAt(o);
          const eb = b.log.entryAt(o);
          if (ea === undefined || eb === undefined || describeEntry(ea) !== describeEntry(eb)) {
            this.fail(`logs of n${a.id} and n${b.id} share ${match}@${String(a.log.entryAt(match)?.epoch)} but differ at ${o}`);
            break;
          }
        }
      }
    }
    for (const m of this.members.values()) {
      const snapshot = m.node?.actor.getSnapshot();
      if (!snapshot?.matches({ leader: 'leading' })) continue;
      const epoch = snapshot.context.quorum.epoch;
      for (const [offset, c] of this.committed) {
        if (c.seenAtEpoch > epoch || offset < m.log.startOffset()) continue;
        const entry = m.log.entryAt(offset);
        if (entry === undefined || describeEntry(entry) !== c.key) this.fail(`leader n${m.id} of epoch ${epoch} lacks committed ${c.key}`);
      }
    }
  }

  /** Every node is up, follows (or is) one leader, and holds exactly its log with the same high watermark. */
  converged(): boolean {
    const leader = this.leader();
    if (leader === null) return false;
    const reference = this.member(leader.id);
    const want = reference.node?.status();
    if (want === undefined) return false;
    return [...this.members.values()].every((m) => {
      const s = m.node?.status();
      return s !== undefined && s.leaderId === leader.id && s.epoch === leader.epoch && s.endOffset === want.endOffset && s.highWatermark === want.highWatermark;
    });
  }

  committedCount(): number {
    return this.committed.size;
  }
}

// ---------------------------------------------------------------- scripted scenarios

/** Runs a scenario script (specs/testdata/raft-*.txt format) and returns the output it produces. */
export async function runScript(script: string): Promise<string[]> {
  let cluster: Cluster | null = null;
  const out: string[] = [];
  const need = (): Cluster => {
    if (cluster === null) throw new Error('add-nodes first');
    return cluster;
  };
  const flushTrace = (): void => {
    if (cluster === null) return;
    out.push(...cluster.trace.map((l) => `  ${l}`));
    cluster.trace.length = 0;
  };
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('  ') || raw.startsWith('  ')) continue;
    out.push(`> ${line}`);
    const [cmd, ...args] = line.split(/\s+/);
    const num = (i: number): number => {
      const v = Number(args[i]);
      if (!Number.isInteger(v)) throw new Error(`bad number in "${line}"`);
      return v;
    };
    switch (cmd) {
      case 'add-nodes': {
        const kv = Object.fromEntries(args.slice(1).map((a) => a.split('=') as [string, string]));
        cluster = new Cluster({ seed: Number(kv.seed ?? 1), voters: num(0), observers: Number(kv.observers ?? 0) });
        break;
      }
      case 'tick':
        await need().tick(num(0));
        break;
      case 'deliver':
        await need().deliver();
        break;
      case 'partition':
        need().partition((args[0] ?? '').split('|').map((g) => g.split(',').map(Number)));
        break;
      case 'drop-next':
        // drop-next <from> <to>: the next message on that link is lost.
        need().loseNext(num(0), num(1));
        break;
      case 'heal':
        need().heal();
        break;
      case 'crash': {
        // crash <node> [reset]: with `reset`, every live peer's transport sees its connection to the node reset.
        const c = need();
        c.crash(num(0));
        if (args[1] === 'reset') {
          for (const id of c.members.keys()) if (id !== num(0) && c.isUp(id)) c.reportUnreachable(id, num(0));
          await flushTurn();
        }
        break;
      }
      case 'unreachable':
        // unreachable <at> <peer>: a (possibly false) report that <at>'s connection to <peer> was reset.
        need().reportUnreachable(num(0), num(1));
        await flushTurn();
        break;
      case 'restart':
        need().restart(num(0));
        break;
      case 'resign':
        need().member(num(0)).node?.resign();
        await flushTurn();
        break;
      case 'until': {
        // until <node> <role> [maxMs]: advance 1 ms at a time until the node is in that role.
        const c = need();
        const id = num(0);
        const limit = c.clock.now() + Number(args[2] ?? 5000);
        while (c.clock.now() < limit && c.member(id).node?.status().role !== args[1]) await c.tick(1);
        break;
      }
      case 'propose': {
        const text = line.slice(line.indexOf('"') + 1, line.lastIndexOf('"'));
        flushTrace();
        out.push(`  ${await need().propose(num(0), text)}`);
        break;
      }
      case 'vote-request': {
        // vote-request <to> <candidate> <epoch>: a hand-made vote request for `candidate` in `epoch`.
        flushTrace();
        const replies = await need().injectVote(num(0), { candidateId: num(1), candidateEpoch: num(2), preVote: false });
        flushTrace();
        out.push(...(replies.length === 0 ? ['  (no answer)'] : replies.map((r) => `  ${r}`)));
        break;
      }
      case 'snapshot':
        flushTrace();
        out.push(`  ${await need().snapshot(num(0))}`);
        break;
      case 'status':
        flushTrace();
        for (const id of need().members.keys()) out.push(`  ${need().status(id)}`);
        break;
      case 'log':
        flushTrace();
        out.push(`  n${num(0)}: ${need().logOf(num(0)).join(' | ') || '(empty)'}`);
        break;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
    flushTrace();
    need().checkLogs();
    if (need().failures.length > 0) throw new Error(`safety failure: ${need().failures.map(String).join('; ')}`);
  }
  return out;
}
