// An in-process KRaft cluster for the quorum controller specs: every node runs the real Raft node (memory log and
// quorum store), its MetadataFollower, and, on voters, the quorum controller; brokers run the real lifecycle. Raft
// messages go through a tiny router on a deterministic virtual clock (latency, crashes); controller requests are
// validated with the wire schemas and handed to the target node's handler table, as the RPC server would.
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { MemoryQuorumStateStore } from '../../src/raft/memory-quorum-store.js';
import { createRaftNode, raftConfig, type RaftNode } from '../../src/raft/node.js';
import { createMetadataFollower, createMetadataFollowerFromLog, type MetadataFollower } from '../../src/controller/metadata-follower.js';
import { createQuorumController, metadataHandlers, type QuorumController } from '../../src/controller/quorum-controller.js';
import { createBrokerLifecycle, type BrokerLifecycle, type ControllerChannel } from '../../src/broker/lifecycle.js';
import { controllerApis, type ControllerApis } from '../../src/wire/controller.js';
import type { RequestIn, ResponseOut } from '../../src/wire/api.js';
import type { HandlerTable, RequestContext } from '../../src/wire/server.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { NodeClock, SeededRandom, VirtualClock } from '../raft/harness.js';

export interface QuorumNode {
  readonly id: number;
  readonly isVoter: boolean;
  readonly log: MemoryRaftLog;
  readonly store: MemoryQuorumStateStore;
  alive: boolean;
  clock: NodeClock;
  raft: RaftNode;
  follower: MetadataFollower;
  controller: QuorumController | null;
  handlers: HandlerTable<ControllerApis>;
  lifecycle: BrokerLifecycle | null;
}

export interface QuorumClusterOptions {
  seed: number;
  voters: number;
  /** Broker-only nodes (Raft observers), numbered after the voters. */
  brokers?: number;
  /** Voters that also run a broker lifecycle (combined nodes, `process.roles=broker,controller`). */
  combined?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

export const clusterId = 'spec-cluster';

export class QuorumCluster {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly nodes = new Map<number, QuorumNode>();
  readonly voterIds: number[];

  constructor(readonly options: QuorumClusterOptions) {
    this.random = new SeededRandom(options.seed);
    this.voterIds = Array.from({ length: options.voters }, (_, i) => i + 1);
    const total = options.voters + (options.brokers ?? 0);
    for (let id = 1; id <= total; id++) this.start(id, new MemoryRaftLog(), new MemoryQuorumStateStore());
  }

  node(id: number): QuorumNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Nodes cut off from every other node (messages to and from them are lost). */
  readonly isolated = new Set<number>();

  private start(id: number, log: MemoryRaftLog, store: MemoryQuorumStateStore, follower: MetadataFollower = createMetadataFollower()): void {
    const clock = new NodeClock(this.clock);
    const isVoter = this.voterIds.includes(id);
    const raft = createRaftNode({
      config: raftConfig(id, this.voterIds),
      clock,
      random: this.random.split(`raft-${id}-${this.clock.now()}`),
      log,
      store,
      send: (to, message) => this.route(id, to, () => this.nodes.get(to)?.raft.deliver(message)),
      listener: follower.listener,
    });
    const common = { nodeId: id, clusterId, raft, follower, clock };
    const controller = isVoter
      ? createQuorumController({
          ...common,
          random: this.random.split(`controller-${id}-${this.clock.now()}`),
          logger: silentLogger,
          ...(this.options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.options.sessionTimeoutMs }),
        })
      : null;
    const node: QuorumNode = {
      id,
      isVoter,
      log,
      store,
      alive: true,
      clock,
      raft,
      follower,
      controller,
      handlers: controller?.handlers ?? metadataHandlers(common),
      lifecycle: null,
    };
    this.nodes.set(id, node);
    raft.start();
    if (!isVoter || this.options.combined === true) {
      node.lifecycle = createBrokerLifecycle({
        brokerId: id,
        clusterId,
        incarnationId: `incarnation-${id}-${this.clock.now()}`,
        rack: null,
        endpoints: [{ name: 'internal', host: '127.0.0.1', port: 9000 + id }],
        voters: this.voterIds,
        clock,
        channel: this.channelFrom(id),
        metadataOffset: () => follower.image().offset,
        controllerHint: () => follower.leadership().leaderId,
        ...(this.options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: this.options.heartbeatIntervalMs }),
      });
    }
  }

  /** Carries one message with 1-3 ms of latency, unless either end is down. */
  private route(from: number, to: number, deliver: () => void): void {
    const sender = this.nodes.get(from);
    if (sender === undefined || !sender.alive) return;
    const latency = 1 + this.random.int(3);
    this.clock.setTimeout(() => {
      const cut = from !== to && (this.isolated.has(from) || this.isolated.has(to));
      if (!cut && this.nodes.get(to)?.alive === true && this.nodes.get(from)?.alive === true) deliver();
    }, latency);
  }

  /** A controller-family request from node `from` to node `to`, with the RPC server's validation and error mapping. */
  channelFrom(from: number): ControllerChannel {
    return <K extends keyof ControllerApis>(to: number, api: K, body: RequestIn<ControllerApis, K>, timeoutMs: number) =>
      new Promise<ResponseOut<ControllerApis, K>>((resolve, reject) => {
        let settled = false;
        const settle = (fn: () => void): void => {
          if (settled) return;
          settled = true;
          fn();
        };
        const timer = this.node(from).clock.setTimeout(() => settle(() => reject(new RaftlineError('REQUEST_TIMED_OUT', `${api} to ${to}`))), timeoutMs);
        this.route(from, to, () => {
          this.call(to, api, body).then(
            (response) => this.route(to, from, () => settle(() => { this.node(from).clock.clearTimeout(timer); resolve(response); })),
            (error: unknown) => this.route(to, from, () => settle(() => { this.node(from).clock.clearTimeout(timer); reject(error); })),
          );
        });
      });
  }

  /** Calls node `to`'s handler the way the RPC server does: schema-validated body, errors as rejections. */
  async call<K extends keyof ControllerApis>(to: number, api: K, body: RequestIn<ControllerApis, K>): Promise<ResponseOut<ControllerApis, K>> {
    const node = this.node(to);
    if (!node.alive) throw new RaftlineError('NETWORK_EXCEPTION', `node ${to} is down`);
    const request = controllerApis[api].request.parse(body);
    const handler = node.handlers[api] as unknown as ((b: unknown, c: RequestContext<ControllerApis>) => unknown) | undefined;
    if (handler === undefined) throw new RaftlineError('UNSUPPORTED_VERSION', `${api} is not served by node ${to}`);
    const context = { api, cid: 0, connectionId: 'spec', remote: 'spec', log: silentLogger, servedApis: [], emit: () => false } as RequestContext<ControllerApis>;
    const response = await handler(request, context);
    // The response must be what the wire would accept.
    return controllerApis[api].response.parse(response) as ResponseOut<ControllerApis, K>;
  }

  /** Sends a write to whichever node leads, following NOT_CONTROLLER like a client would. */
  async callController<K extends keyof ControllerApis>(api: K, body: RequestIn<ControllerApis, K>): Promise<ResponseOut<ControllerApis, K>> {
    const leader = this.activeController();
    if (leader === null) throw new Error('no active controller');
    return this.call(leader, api, body);
  }

  activeController(): number | null {
    // A deposed controller cut off from the quorum may believe it is active until it notices (check-quorum); two
    // active controllers in one epoch would be a bug. The newest epoch's is the real one.
    const active = [...this.nodes.values()].filter((n) => n.alive && n.controller?.role() === 'active').map((n) => ({ id: n.id, epoch: n.raft.status().epoch }));
    const epochs = new Set(active.map((a) => a.epoch));
    if (epochs.size !== active.length) throw new Error(`two active controllers in one epoch: ${JSON.stringify(active)}`);
    return active.sort((a, b) => b.epoch - a.epoch)[0]?.id ?? null;
  }

  /** Runs virtual time forward by `ms`. */
  async run(ms: number): Promise<void> {
    await this.clock.advanceTo(this.clock.now() + ms);
  }

  /** Runs until `predicate` holds (checked after every timer), failing after `limitMs`. */
  async runUntil(predicate: () => boolean, limitMs: number, what: string): Promise<number> {
    const start = this.clock.now();
    while (!predicate()) {
      if (this.clock.now() - start >= limitMs) throw new Error(`not reached within ${limitMs} ms: ${what}`);
      await this.clock.advanceTo(this.clock.now() + 10);
    }
    return this.clock.now() - start;
  }

  /** kill -9: the node's timers, messages and actors vanish; its log and quorum state stay (they are durable). */
  crash(id: number): void {
    const node = this.node(id);
    node.alive = false;
    node.lifecycle?.halt();
    node.controller?.stop();
    node.raft.stop();
    node.clock.cancelAll();
  }

  /** Restarts a crashed node from its durable log, loading the log's latest snapshot first as a real host does. */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (node.alive) throw new Error(`node ${id} is running`);
    this.start(id, node.log, node.store, await createMetadataFollowerFromLog(node.log));
  }

  stopAll(): void {
    for (const node of this.nodes.values()) if (node.alive) this.crash(node.id);
  }
}
