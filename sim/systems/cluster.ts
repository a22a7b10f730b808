// Whole Raftline nodes under simulation: each server node runs the real node core (src/broker/node-core.ts — the
// metadata quorum, the controller on voters, the metadata follower, the broker lifecycle, the RPC server, and whatever
// later parts the core starts) on its own simulated Runtime, configured through the real config resolver; client
// nodes run the workload (cluster-admin.ts: topic creates and deletes through the real RPC handlers). Invariant:
// nodes share nothing but the simulated network, and a crash keeps only what a node's SimDisk synced.
import { resolveConfig, type NodeConfig, type RawValue } from '../../src/broker/config.js';
import { startNodeCore, type NodeCore } from '../../src/broker/node-core.js';
import type { Connection, Listener } from '../../src/runtime/network.js';
import type { MetadataImage } from '../../src/controller/image.js';
import type { MetadataRecord } from '../../src/controller/records.js';
import { decodeMetadataRecord } from '../../src/controller/metadata-follower.js';
import { clusterCheckers, ClusterSafetyMonitor, type ClusterNodeView } from '../checkers/cluster.js';
import type { Schedule } from '../schedule.js';
import type { Simulation } from '../simulation.js';
import type { Checker, SimNode, SimNodeContext, SimSystem } from '../system.js';
import { AdminWorkload, adminHistoryChecker, type AdminParams } from './cluster-admin.js';
import { DataWorkload, dataParamKeys, dataParams, type DataParams } from './cluster-data.js';
import { dataCheckers, type DataVerdict } from '../checkers/data.js';

/** Every server node listens here (Raft peers and RPC clients share the port, as in the real process). */
export const clusterPort = 9092;

/** Connections accepted while the core is still starting (the real process holds up to this many too). */
const earlyConnectionsMax = 1024;

export interface ClusterParams extends AdminParams {
  data: DataParams;
  /** Node configuration overrides under Kafka's key names (`config.<key>` in the schedule's params). */
  nodeConfig: Map<string, string | number | boolean>;
}

export function clusterParams(raw: Record<string, number | string | boolean>): ClusterParams {
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`cluster: params.${key} must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  const nodeConfig = new Map<string, string | number | boolean>();
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('config.')) nodeConfig.set(key.slice('config.'.length), value);
    else if (!['adminOps', 'adminIntervalMs', 'adminRetryMs', 'adminTimeoutMs', ...dataParamKeys].includes(key)) throw new TypeError(`cluster: unknown params.${key}`);
  }
  return {
    adminOps: Math.floor(num('adminOps', 20)),
    adminIntervalMs: Math.max(1, num('adminIntervalMs', 300)),
    adminRetryMs: Math.max(1, num('adminRetryMs', 200)),
    adminTimeoutMs: Math.max(1, num('adminTimeoutMs', 3_000)),
    data: dataParams(raw),
    nodeConfig,
  };
}

function isServer(roles: readonly string[]): boolean {
  return roles.includes('broker') || roles.includes('controller');
}

/** The node's configuration as the real resolver builds it from flags: the same validation as a real process. */
export function clusterNodeConfig(ctx: Pick<SimNodeContext, 'nodeId' | 'host' | 'roles' | 'schedule' | 'hostOf'>, overrides: ReadonlyMap<string, string | number | boolean>): NodeConfig {
  const voters = ctx.schedule.cluster.nodes.filter((n) => n.roles.includes('controller')).map((n) => `${n.id}@${ctx.hostOf(n.id)}:${clusterPort}`);
  const flag = (value: unknown, key: string): RawValue => ({ value, source: 'flag', origin: `sim ${key}` });
  const layer = new Map<string, RawValue>([
    ['node.id', flag(ctx.nodeId, 'node.id')],
    ['process.roles', flag(ctx.roles.filter((r) => r !== 'client').join(','), 'process.roles')],
    ['controller.quorum.voters', flag(voters.join(','), 'controller.quorum.voters')],
    ['listeners', flag(`${ctx.host}:${clusterPort}`, 'listeners')],
    ['log.dirs', flag('data', 'log.dirs')],
    ['log.level', flag('info', 'log.level')],
  ]);
  const params = new Map<string, RawValue>([...overrides].map(([k, v]) => [k, { value: v, source: 'file', origin: `schedule params.config.${k}` }]));
  return resolveConfig([params, layer]).config;
}

/** One incarnation of a broker and/or controller node: the real node core behind a listener on the simulated network. */
export class ClusterServerNode implements SimNode {
  core: NodeCore | null = null;
  private listener: Listener | null = null;
  private stopped = false;

  constructor(
    readonly ctx: SimNodeContext,
    private readonly world: ClusterWorld,
  ) {}

  async start(): Promise<void> {
    const { ctx } = this;
    const config = clusterNodeConfig(ctx, this.world.params.nodeConfig);
    // Like the process: listen first, hold connections that arrive before the core is up, then hand them over.
    const early: Connection[] = [];
    let route: ((c: Connection) => void) | null = null;
    this.listener = await ctx.runtime.network.listen({ host: ctx.host, port: clusterPort }, (connection) => {
      if (route !== null) route(connection);
      else if (early.length < earlyConnectionsMax) early.push(connection);
      else connection.close('node starting');
    });
    const core = await startNodeCore(config, ctx.runtime, { advertised: { host: ctx.host, port: clusterPort } });
    this.core = core;
    route = (c) => core.accept(c);
    for (const c of early.splice(0)) route(c);
    const failed = (what: string) => (error: unknown): void => {
      if (this.alive()) this.world.sim.fail('cluster.node-error', `node ${ctx.nodeId}: ${what} actor failed: ${error instanceof Error ? error.message : String(error)}`);
    };
    core.quorum.raft.actor.subscribe({ error: failed('raft') });
    core.quorum.controller?.actor.subscribe({ error: failed('controller') });
    core.quorum.lifecycle?.actor.subscribe({ error: failed('broker lifecycle') });
  }

  alive(): boolean {
    return !this.stopped && this.world.sim.process(this.ctx.nodeId).incarnation === this.ctx.incarnation;
  }

  stop(): Promise<void> {
    this.stopped = true;
    const core = this.core;
    const listener = this.listener;
    return (async () => {
      await core?.close();
      await listener?.close();
    })();
  }

  view(): ClusterNodeView | null {
    const core = this.core;
    if (core === null || !this.alive()) return null;
    const controller = core.quorum.controller;
    let controllerView: ClusterNodeView['controller'] = null;
    let batchImages: ClusterNodeView['batchImages'] = [];
    let pendingBatchEnds: number[] = [];
    if (controller !== undefined && controller.actor.getSnapshot().status === 'active') {
      const role = controller.role();
      const context = controller.actor.getSnapshot().context;
      controllerView = { role, epoch: context.leaderEpoch };
      if (role === 'active') {
        batchImages = [context.images.committed, ...context.images.pending.map((b) => b.imageAfter)];
        pendingBatchEnds = context.images.pending.map((b) => b.lastOffset);
      }
    }
    const log = core.quorum.raft.actor.getSnapshot().context.ports.log;
    const records = (from: number, to: number): MetadataRecord[] | null => {
      const out: MetadataRecord[] = [];
      for (let offset = from; offset <= to; offset++) {
        const entry = log.entryAt(offset);
        if (entry === undefined) return null;
        if (entry.record.type === 'data') out.push(decodeMetadataRecord(entry.record.data));
      }
      return out;
    };
    return { nodeId: this.ctx.nodeId, incarnation: this.ctx.incarnation, image: core.quorum.follower.image(), controller: controllerView, batchImages, pendingBatchEnds, records };
  }
}

/** A client node: hosts the workload's drivers for as long as this incarnation lives. */
class ClusterClientNode implements SimNode {
  private stopped = false;

  constructor(
    readonly ctx: SimNodeContext,
    private readonly world: ClusterWorld,
  ) {}

  start(): void {
    const alive = (): boolean => !this.stopped && this.world.sim.process(this.ctx.nodeId).incarnation === this.ctx.incarnation;
    // The admin workload runs on the first client node; producers and consumers on the node the schedule names.
    if (this.ctx.nodeId === this.world.clientIds[0]) this.world.admin.attach(this.ctx, alive);
    this.world.data.attach(this.ctx, alive);
  }

  stop(): void {
    this.stopped = true;
  }
}

/** Everything one run shares: parameters, the monitor, the workload, the nodes. */
export class ClusterWorld {
  readonly params: ClusterParams;
  readonly monitor: ClusterSafetyMonitor;
  readonly admin: AdminWorkload;
  readonly data: DataWorkload;
  /** The data checkers' last verdict (set when the liveness phase ends). */
  readonly verdict: { verdict?: DataVerdict } = {};
  readonly serverIds: number[];
  readonly clientIds: number[];
  readonly brokerIds: number[];

  constructor(readonly sim: Simulation) {
    this.params = clusterParams(sim.schedule.workload.params);
    const unclean = this.params.nodeConfig.get('unclean.leader.election.enable');
    this.monitor = new ClusterSafetyMonitor(unclean === true || unclean === 'true');
    const nodes = sim.schedule.cluster.nodes;
    this.serverIds = nodes.filter((n) => isServer(n.roles)).map((n) => n.id);
    this.brokerIds = nodes.filter((n) => n.roles.includes('broker')).map((n) => n.id);
    this.clientIds = nodes.filter((n) => n.roles.includes('client')).map((n) => n.id);
    if (!nodes.some((n) => n.roles.includes('controller'))) throw new TypeError('cluster: no node has the controller role');
    if (!nodes.some((n) => n.roles.includes('client'))) throw new TypeError('cluster: no node has the client role (the workload runs there)');
    // Validate every server's configuration up front: a bad `config.*` param is bad input, not a node failure.
    for (const n of nodes.filter((x) => isServer(x.roles))) clusterNodeConfig({ nodeId: n.id, host: `n${n.id}`, roles: n.roles, schedule: sim.schedule, hostOf: (id) => `n${id}` }, this.params.nodeConfig);
    this.admin = new AdminWorkload({ sim, params: this.params, servers: this.serverIds, brokers: this.brokerIds, port: clusterPort });
    this.data = new DataWorkload({
      sim,
      params: this.params.data,
      servers: this.brokerIds,
      port: clusterPort,
      leaderNow: (topic, partition) => {
        const leader = this.activeImage()?.topicsByName.get(topic)?.partitions[partition]?.leader;
        return leader === undefined || leader < 0 ? null : leader;
      },
    });
    sim.trace.subscribe((e) => this.data.onTrace(e));
  }

  serverNodes(): ClusterServerNode[] {
    const out: ClusterServerNode[] = [];
    for (const p of this.sim.processes.values()) if (p.up && p.node instanceof ClusterServerNode && p.node.core !== null) out.push(p.node);
    return out;
  }

  views(): ClusterNodeView[] {
    const out: ClusterNodeView[] = [];
    for (const n of this.serverNodes()) {
      const v = n.view();
      if (v !== null) out.push(v);
    }
    return out;
  }

  /** Each step: the checkers' observations, and the elections the data history needs. */
  observe(): ClusterNodeView[] {
    const views = this.views();
    if (this.data.active) for (const v of views) this.data.onImage(v.nodeId, v.image, this.sim.nowMs(), v.records);
    return views;
  }

  /**
   * Converged: every server is up and agrees on one active controller, every node holds the same committed image,
   * every broker is registered and unfenced in it, every partition has a leader, the admin workload is done, and every
   * data send settled with each consumer's last full read after that.
   * (Whether the image shows what the admin history implies is the `cluster.admin-outcome` checker's business.)
   */
  converged(): boolean {
    if (!this.admin.done() || !this.data.done()) return false;
    const views = this.views();
    if (views.length !== this.serverIds.length) return false;
    const active = views.filter((v) => v.controller?.role === 'active');
    if (active.length !== 1) return false;
    const image = active[0]!.image;
    if (!views.every((v) => v.image === image || v.image.offset === image.offset)) return false;
    for (const id of this.brokerIds) {
      const b = image.brokers.get(id);
      if (b === undefined || b.fenced || b.inControlledShutdown) return false;
    }
    for (const t of image.topicsById.values()) if (t.partitions.some((p) => p.leader === -1)) return false;
    return true;
  }

  /** The active controller's committed image, when exactly one node is the active controller. */
  activeImage(): MetadataImage | null {
    const active = this.views().filter((v) => v.controller?.role === 'active');
    return active.length === 1 ? active[0]!.image : null;
  }
}

/** One world per simulation; created when the simulation asks for the checkers (before any node boots). */
const worlds = new WeakMap<Schedule, ClusterWorld>();

export function clusterWorldOf(schedule: Schedule): ClusterWorld {
  const w = worlds.get(schedule);
  if (w === undefined) throw new Error('cluster: node created before the simulation set up the system');
  return w;
}

export const clusterSystem: SimSystem = {
  name: 'cluster',
  createNode(ctx) {
    const world = clusterWorldOf(ctx.schedule);
    return isServer(ctx.roles) ? new ClusterServerNode(ctx, world) : new ClusterClientNode(ctx, world);
  },
  checkers(sim): Checker[] {
    const world = new ClusterWorld(sim);
    worlds.set(sim.schedule, world);
    const data = world.data.active ? dataCheckers(() => world.data.history, world.verdict) : [];
    return [...clusterCheckers({ monitor: world.monitor, views: () => world.observe() }), adminHistoryChecker(world.admin, () => world.activeImage()), ...data];
  },
  converged(sim) {
    return clusterWorldOf(sim.schedule).converged();
  },
};

/** The base schedule `explore --system cluster` uses: three combined nodes and a client. */
export const clusterBaseSchedule = {
  version: 1,
  system: 'cluster',
  cluster: {
    nodes: [
      { id: 1, roles: ['broker', 'controller'] },
      { id: 2, roles: ['broker', 'controller'] },
      { id: 3, roles: ['broker', 'controller'] },
      { id: 9, roles: ['client'] },
    ],
    topics: [{ name: 'orders', partitions: 3, config: { 'replication.factor': 3, 'min.insync.replicas': 2, 'unclean.leader.election.enable': false } }],
  },
  workload: { params: { adminOps: 20 } },
  network: { latencyMinMs: 1, latencyMaxMs: 10 },
  phases: { safetyMs: 10_000, livenessMs: 30_000 },
} as const;
