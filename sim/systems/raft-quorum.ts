// The KRaft metadata quorum under simulation: one Raft node per simulated node (voters are the nodes with the
// controller role, the others observe), each on its own Runtime, with the production durable log and quorum-state
// store (src/raft/storage-log.ts, disk-quorum-store.ts) on its SimDisk and the production transport
// (src/raft/transport.ts) carrying its messages over the simulated network. A proposer drives proposals at whoever it believes leads. Invariant: nothing
// passes between nodes except through the network and nothing survives a crash except what the disk synced.
import { raftSimProposalsInFlightMax } from '../../src/limits.js';
import { createRaftNode, raftConfig, type RaftNode } from '../../src/raft/node.js';
import type { QuorumState, QuorumStateStore, RaftConfig, RaftLog } from '../../src/raft/ports.js';
import type { Disk, DiskFile } from '../../src/runtime/disk.js';
import type { RaftEntry, RaftMessage } from '../../src/wire/raft.js';
import { raftCheckers, RaftSafetyMonitor, recordKey, type RaftNodeView } from '../checkers/raft.js';
import type { Schedule } from '../schedule.js';
import type { Simulation } from '../simulation.js';
import type { Checker, SimNode, SimNodeContext, SimSystem } from '../system.js';
import { DiskQuorumStateStore } from '../../src/raft/disk-quorum-store.js';
import { metadataLogDir, openRaftStorageLog } from '../../src/raft/storage-log.js';
import { createRaftTransport, type RaftTransport } from '../../src/raft/transport.js';

export const raftQuorumPort = 9093;
const dataDir = 'data';

/**
 * Planted durability bugs, so specs can show the checkers catch them: `no-fsync` gives the durable log a disk that
 * drops fsyncs (appends are acknowledged but not durable); `volatile-vote` writes the quorum state without its vote
 * (a store that forgets votes: acknowledged, but gone after a restart).
 */
export type RaftDiskBug = 'none' | 'no-fsync' | 'volatile-vote';

export interface RaftQuorumParams {
  /** Proposals the workload makes in all (each is retried until acknowledged). */
  proposals: number;
  proposalsPerSec: number;
  /** A proposal not acknowledged this long after it was sent is sent again (a new attempt, maybe elsewhere). */
  retryMs: number;
  bug: RaftDiskBug;
  /** Overrides of the Raft config (`raft.fetchIdleMs`, `raft.electionTimeoutMs`, ...); Kafka's defaults otherwise. */
  raft: Partial<RaftConfig>;
}

const raftTunables = ['appendLingerMs', 'electionTimeoutMs', 'fetchTimeoutMs', 'electionBackoffMaxMs', 'retryBackoffMs', 'fetchIdleMs', 'fetchMaxWaitMs', 'beginQuorumEpochRetryMs', 'observerDiscoveryMs', 'fetchRetryMs'] as const;

export function raftQuorumParams(raw: Record<string, number | string | boolean>): RaftQuorumParams {
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`raft-quorum: params.${key} must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bug = raw['bug'] ?? 'none';
  if (bug !== 'none' && bug !== 'no-fsync' && bug !== 'volatile-vote') throw new TypeError(`raft-quorum: params.bug must be none, no-fsync or volatile-vote, got ${JSON.stringify(bug)}`);
  const raft: Partial<RaftConfig> = {};
  for (const key of Object.keys(raw)) {
    const tunable = raftTunables.find((k) => `raft.${k}` === key);
    if (tunable !== undefined) raft[tunable] = num(key, 0);
    else if (!['proposals', 'proposalsPerSec', 'retryMs', 'bug'].includes(key)) throw new TypeError(`raft-quorum: unknown params.${key}`);
  }
  return { proposals: Math.floor(num('proposals', 100)), proposalsPerSec: num('proposalsPerSec', 20), retryMs: Math.max(1, num('retryMs', 1_500)), bug, raft };
}

function votersOf(schedule: Schedule): number[] {
  return schedule.cluster.nodes.filter((n) => n.roles.includes('controller')).map((n) => n.id);
}

/** The planted `no-fsync` bug: a disk whose files say they synced without syncing (writeFileAtomic still syncs). */
function fsyncDroppingDisk(disk: Disk): Disk {
  return {
    ...bindAll(disk),
    open: async (path, options) => {
      const file = await disk.open(path, options);
      return {
        path: file.path,
        size: () => file.size(),
        append: (data) => file.append(data),
        write: (data, position) => file.write(data, position),
        read: (position, length) => file.read(position, length),
        truncate: (size) => file.truncate(size),
        reserve: (position, length) => file.reserve(position, length),
        sync: () => Promise.resolve(),
        datasync: () => Promise.resolve(),
        close: () => file.close(),
      } satisfies DiskFile;
    },
  };
}

function bindAll(disk: Disk): Disk {
  return {
    open: (p, o) => disk.open(p, o),
    readFile: (p) => disk.readFile(p),
    writeFileAtomic: (p, d) => disk.writeFileAtomic(p, d),
    rename: (a, b) => disk.rename(a, b),
    remove: (p) => disk.remove(p),
    removeDir: (p) => disk.removeDir(p),
    mkdir: (p) => disk.mkdir(p),
    list: (d) => disk.list(d),
    exists: (p) => disk.exists(p),
    stat: (p) => disk.stat(p),
    syncDir: (d) => disk.syncDir(d),
  };
}

/** A log that tells the monitor what it appends and truncates before doing it. */
class ObservedLog {
  truncations = 0;
  constructor(
    readonly inner: RaftLog,
    private readonly onAppend: (entries: readonly RaftEntry[], prevEpoch: number | null) => void,
  ) {}

  port(): RaftLog {
    const inner = this.inner;
    return {
      startOffset: () => inner.startOffset(),
      endOffset: () => inner.endOffset(),
      lastEpoch: () => inner.lastEpoch(),
      entryAt: (o) => inner.entryAt(o),
      read: (o, n) => inner.read(o, n),
      endOffsetForEpoch: (e) => inner.endOffsetForEpoch(e),
      append: (entries) => {
        const first = entries[0];
        if (first !== undefined) {
          const prev = first.offset === inner.startOffset() ? (inner.latestSnapshot()?.epoch ?? (first.offset === 0 ? 0 : null)) : (inner.entryAt(first.offset - 1)?.epoch ?? null);
          this.onAppend(entries, prev);
        }
        return inner.append(entries);
      },
      truncateTo: (o) => {
        if (o < inner.endOffset()) this.truncations++;
        return inner.truncateTo(o);
      },
      latestSnapshot: () => inner.latestSnapshot(),
      readSnapshot: (id, p, m) => inner.readSnapshot(id, p, m),
      createSnapshot: (id, b) => inner.createSnapshot(id, b),
      installSnapshot: (id, b) => {
        this.truncations++;
        return inner.installSnapshot(id, b);
      },
    };
  }
}

class RaftQuorumNode implements SimNode {
  raft: RaftNode | null = null;
  log: ObservedLog | null = null;
  private transport: RaftTransport | null = null;
  private stopped = false;

  constructor(
    readonly ctx: SimNodeContext,
    private readonly world: RaftQuorumWorld,
  ) {}

  get voter(): boolean {
    return this.world.voters.includes(this.ctx.nodeId);
  }

  alive(): boolean {
    return !this.stopped && this.world.sim.process(this.ctx.nodeId).incarnation === this.ctx.incarnation;
  }

  async start(): Promise<void> {
    const { ctx, world } = this;
    const id = ctx.nodeId;
    const disk = world.params.bug === 'no-fsync' ? fsyncDroppingDisk(ctx.runtime.disk) : ctx.runtime.disk;
    const dir = metadataLogDir(dataDir);
    const inner = await openRaftStorageLog({ disk, dir, clock: ctx.runtime.clock, logger: ctx.runtime.log });
    const log = new ObservedLog(inner, (entries, prev) => world.monitor.onAppend(id, entries, prev));
    const diskStore = new DiskQuorumStateStore({ disk, dir });
    const store: QuorumStateStore = {
      read: async () => {
        const state = await diskStore.read();
        world.monitor.onQuorumStateRead(id, state);
        return state;
      },
      write: async (state: QuorumState) => {
        // The planted bug: the vote is acknowledged but never reaches the disk (the rest of the state does).
        await diskStore.write(world.params.bug === 'volatile-vote' ? { ...state, votedFor: null } : state);
        if (this.alive()) world.monitor.onQuorumStateDurable(id, state);
      },
    };
    const peers = new Map(ctx.schedule.cluster.nodes.map((n) => [n.id, `${ctx.hostOf(n.id)}:${raftQuorumPort}`] as const));
    const transport = createRaftTransport({ nodeId: id, network: ctx.runtime.network, clock: ctx.runtime.clock, peers, logger: ctx.runtime.log });
    transport.setReceiver((message) => this.raft?.deliver(message));
    await transport.listen({ host: ctx.host, port: raftQuorumPort });
    // A granted vote is answered to the candidate it was granted to.
    const send = (to: number, message: RaftMessage): void => {
      if (message.type === 'raft.vote.response' && message.body.voteGranted && !message.body.preVote) world.monitor.onVoteGranted(id, message.body.leaderEpoch, to);
      transport.send(to, message);
    };
    const raft = createRaftNode({
      config: raftConfig(id, world.voters, world.params.raft),
      clock: ctx.runtime.clock,
      random: ctx.runtime.random,
      log: log.port(),
      store,
      logger: ctx.runtime.log,
      send,
      listener: {
        onCommit: (entries) => {
          if (!this.alive()) return;
          world.monitor.onCommit(id, entries, world.leaderViews());
          world.proposer.onCommit(this, entries);
        },
        onLeaderChange: ({ epoch, leaderId }) => {
          ctx.runtime.log.info({ epoch, leaderId }, 'raft: leader change');
        },
      },
    });
    raft.actor.subscribe({
      error: (error: unknown) => {
        if (this.alive()) world.monitor.violation('raft.node-error', `node ${id}: ${error instanceof Error ? error.message : String(error)}`);
      },
    });
    this.log = log;
    this.transport = transport;
    this.raft = raft;
    raft.start();
  }

  stop(): void {
    this.stopped = true;
    this.raft?.stop();
    void this.transport?.close();
  }

  view(): RaftNodeView | null {
    const raft = this.raft;
    const log = this.log;
    if (raft === null || log === null || raft.actor.getSnapshot().status !== 'active') return null;
    const s = raft.status();
    return {
      nodeId: s.nodeId,
      incarnation: this.ctx.incarnation,
      role: s.role,
      epoch: s.epoch,
      leaderId: s.leaderId,
      highWatermark: s.highWatermark,
      voter: this.voter,
      logStart: () => log.inner.startOffset(),
      entryAt: (o) => log.inner.entryAt(o),
      endOffset: () => log.inner.endOffset(),
      truncations: log.truncations,
    };
  }
}

interface Attempt {
  proposal: number;
  node: RaftQuorumNode;
  offset: number | null;
  sentAtMs: number;
}

/** The workload: proposes records at the believed leader; NOT_LEADER sends it elsewhere; acks come from commits. */
class Proposer {
  private next = 0;
  private believed: number | null = null;
  private readonly unacked = new Map<number, Attempt | null>();
  private roundRobin = 0;
  acked = 0;

  constructor(private readonly world: RaftQuorumWorld) {}

  get done(): boolean {
    return this.acked >= this.world.params.proposals;
  }

  start(): void {
    const { params } = this.world;
    if (params.proposals === 0 || params.proposalsPerSec <= 0) return;
    const interval = Math.max(1, Math.round(1000 / params.proposalsPerSec));
    const tick = (): void => {
      this.tick();
      if (!this.done) this.world.sim.clock.schedule(null, interval, tick);
    };
    this.world.sim.clock.schedule(null, interval, tick);
  }

  private tick(): void {
    const now = this.world.sim.nowMs();
    // Retry the oldest proposal whose attempt timed out, else start a new one.
    for (const [proposal, attempt] of this.unacked) {
      if (attempt === null || now - attempt.sentAtMs >= this.world.params.retryMs) {
        this.send(proposal);
        return;
      }
    }
    if (this.next < this.world.params.proposals && this.unacked.size < raftSimProposalsInFlightMax) this.send(this.next++);
  }

  private target(): RaftQuorumNode | null {
    const nodes = this.world.liveNodes().filter((n) => n.voter);
    if (nodes.length === 0) return null;
    const believed = nodes.find((n) => n.ctx.nodeId === this.believed);
    if (believed !== undefined) return believed;
    this.roundRobin = (this.roundRobin + 1) % nodes.length;
    return nodes[this.roundRobin]!;
  }

  private send(proposal: number): void {
    const node = this.target();
    const raft = node?.raft;
    if (node === undefined || node === null || raft === null || raft === undefined) {
      this.unacked.set(proposal, null);
      return;
    }
    const attempt: Attempt = { proposal, node, offset: null, sentAtMs: this.world.sim.nowMs() };
    this.unacked.set(proposal, attempt);
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, proposal);
    void raft.propose([data]).then((result) => {
      if (this.unacked.get(proposal) !== attempt) return;
      if (result.ok) {
        attempt.offset = result.baseOffset;
        this.believed = node.ctx.nodeId;
      } else {
        this.believed = result.leaderId !== null && result.leaderId !== node.ctx.nodeId ? result.leaderId : null;
        this.unacked.set(proposal, null);
      }
    });
  }

  /** A proposal is acknowledged when the node that accepted it commits it at the offset it was given. */
  onCommit(node: RaftQuorumNode, entries: readonly RaftEntry[]): void {
    if (this.unacked.size === 0) return;
    for (const e of entries) {
      if (e.record.type !== 'data' || e.record.data.byteLength !== 4) continue;
      const proposal = new DataView(e.record.data.buffer, e.record.data.byteOffset, 4).getUint32(0);
      const attempt = this.unacked.get(proposal);
      if (attempt === undefined || attempt === null || attempt.node !== node || attempt.offset !== e.offset) continue;
      this.unacked.delete(proposal);
      this.world.monitor.acked.set(e.offset, recordKey(e));
      this.acked++;
    }
  }
}

/** Everything one run of the system shares: the schedule's voters, the monitor, the proposer, the nodes. */
class RaftQuorumWorld {
  readonly voters: number[];
  readonly params: RaftQuorumParams;
  readonly monitor = new RaftSafetyMonitor();
  readonly proposer: Proposer;

  constructor(readonly sim: Simulation) {
    this.voters = votersOf(sim.schedule);
    if (this.voters.length === 0) throw new TypeError('raft-quorum: no node has the controller role');
    this.params = raftQuorumParams(sim.schedule.workload.params);
    this.proposer = new Proposer(this);
  }

  liveNodes(): RaftQuorumNode[] {
    const out: RaftQuorumNode[] = [];
    for (const p of this.sim.processes.values()) if (p.up && p.node instanceof RaftQuorumNode && p.node.raft !== null) out.push(p.node);
    return out;
  }

  views(): RaftNodeView[] {
    const out: RaftNodeView[] = [];
    for (const n of this.liveNodes()) {
      const v = n.view();
      if (v !== null) out.push(v);
    }
    return out;
  }

  leaderViews(): RaftNodeView[] {
    return this.views().filter((v) => v.role === 'leader');
  }

  /** The leader every node (voters and observers, all up) knows in the same epoch, if there is one. */
  agreedLeader(): number | null {
    const views = this.views();
    if (views.length !== this.sim.processes.size) return null;
    const leader = views.find((v) => v.role === 'leader');
    if (leader === undefined) return null;
    return views.every((v) => v.leaderId === leader.nodeId && v.epoch === leader.epoch) ? leader.nodeId : null;
  }

  /** Converged: one leader known by all, every proposal acknowledged and committed on every voter. */
  converged(): boolean {
    if (!this.proposer.done || this.agreedLeader() === null) return false;
    for (const v of this.views()) {
      if (!v.voter) continue;
      for (const [offset, key] of this.monitor.acked) {
        if (offset < v.logStart()) continue;
        const e = v.entryAt(offset);
        if (v.highWatermark <= offset || e === undefined || recordKey(e) !== key) return false;
      }
    }
    return true;
  }
}

/** One world per simulation; created when the simulation asks for the checkers (before any node boots). */
const worlds = new WeakMap<Schedule, RaftQuorumWorld>();

function worldOf(schedule: Schedule): RaftQuorumWorld {
  const w = worlds.get(schedule);
  if (w === undefined) throw new Error('raft-quorum: node created before the simulation set up the system');
  return w;
}

export const raftQuorumSystem: SimSystem = {
  name: 'raft-quorum',
  createNode(ctx) {
    return new RaftQuorumNode(ctx, worldOf(ctx.schedule));
  },
  checkers(sim): Checker[] {
    const world = new RaftQuorumWorld(sim);
    worlds.set(sim.schedule, world);
    world.proposer.start();
    return raftCheckers(sim, { monitor: world.monitor, views: () => world.views(), agreedLeader: () => world.agreedLeader() });
  },
  converged(sim) {
    return worldOf(sim.schedule).converged();
  },
};

/** The base schedule `explore` uses for the quorum: three voters and a broker-only observer. */
export const raftQuorumBaseSchedule = {
  version: 1,
  system: 'raft-quorum',
  cluster: {
    nodes: [
      { id: 1, roles: ['broker', 'controller'] },
      { id: 2, roles: ['broker', 'controller'] },
      { id: 3, roles: ['broker', 'controller'] },
    ],
  },
  workload: { params: { proposals: 100, proposalsPerSec: 20 } },
  network: { latencyMinMs: 1, latencyMaxMs: 10 },
  phases: { safetyMs: 10_000, livenessMs: 30_000 },
} as const;
