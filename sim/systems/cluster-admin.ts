// The cluster system's admin workload: creates the schedule's topics, then a seeded series of topic creates and deletes
// over a small pool of names, each sent through the real RPC handlers of some server node (brokers forward writes to
// the active controller, KIP-590) and retried until it has a definite answer. Keeps a history of every operation and
// what its answers imply for the final image; the `cluster.admin-outcome` checker holds the cluster to it.
import type { MetadataImage } from '../../src/controller/image.js';
import type { Runtime } from '../../src/runtime/index.js';
import { sleep } from '../../src/runtime/clock.js';
import { RaftlineError, type ErrorCode } from '../../src/wire/errors.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import type { Random } from '../../src/runtime/random.js';
import type { Simulation } from '../simulation.js';
import type { Checker, SimNodeContext } from '../system.js';

export interface AdminParams {
  /** Random creates and deletes after the schedule's topics exist. */
  adminOps: number;
  adminIntervalMs: number;
  /** Wait before retrying an attempt that got no definite answer. */
  adminRetryMs: number;
  adminTimeoutMs: number;
}

/** Names the random operations draw from: few, so creates and deletes meet (TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC). */
const adminTopicPool = ['a0', 'a1', 'a2', 'a3'];

export interface AdminOpSpec {
  kind: 'create' | 'delete';
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
  /** Manual placement (numPartitions and replicationFactor are then -1). */
  assignments?: number[][];
  /** A topic of the schedule: sent again until answered, even across client crashes (the data workload needs it). */
  required?: boolean;
}

/**
 * One operation and what is known of its effect: `exists` / `absent` when an answer settled it, `unchanged` when it was
 * refused without effect, `unknown` when some attempt may or may not have applied and no later answer settled it.
 */
export interface AdminOp extends AdminOpSpec {
  seq: number;
  invokedAtMs: number;
  status: 'pending' | 'done' | 'abandoned';
  effect: 'exists' | 'absent' | 'unchanged' | 'unknown';
  /** The answer that ended it: 'ok' or an error code. */
  answer: string | null;
  topicId: string | null;
  attempts: number;
  maybeApplied: boolean;
}

/** Error codes after which the operation is tried again (a transient state of the cluster, or no answer). */
// (INVALID_REPLICATION_FACTOR and INVALID_REPLICA_ASSIGNMENT: too few brokers unfenced yet, as at start-up or during a fault.)
const retryCodes = new Set<ErrorCode>(['NOT_CONTROLLER', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'THROTTLING_QUOTA_EXCEEDED', 'INVALID_REPLICATION_FACTOR', 'INVALID_REPLICA_ASSIGNMENT', 'UNKNOWN_SERVER_ERROR']);
/** Of those, the ones after which the attempt may still have taken effect (it reached a controller that lost office). */
const maybeAppliedCodes = new Set<ErrorCode>(['NOT_CONTROLLER', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'UNKNOWN_SERVER_ERROR']);

export interface AdminWorkloadOptions {
  sim: Simulation;
  params: AdminParams;
  servers: readonly number[];
  brokers: readonly number[];
  port: number;
}

export class AdminWorkload {
  readonly history: AdminOp[] = [];
  private readonly plan: AdminOpSpec[];
  private next = 0;
  /** Creates of the schedule's topics whose client crashed before an answer: sent again (the data workload needs them). */
  private readonly again: AdminOpSpec[] = [];
  private roundRobin = 0;
  /** The incarnation of the client that drives the workload now (an older one's attempts are abandoned). */
  private driver = 0;

  constructor(private readonly options: AdminWorkloadOptions) {
    this.plan = [...options.sim.schedule.cluster.topics.map((t): AdminOpSpec => ({
      kind: 'create',
      name: t.name,
      partitions: t.assignments === undefined ? t.partitions : -1,
      replicationFactor: t.assignments === undefined ? (t.config['replication.factor'] ?? -1) : -1,
      ...(t.assignments === undefined ? {} : { assignments: t.assignments }),
      required: true,
      configs: Object.fromEntries(Object.entries(t.config).filter(([k]) => k !== 'replication.factor').map(([k, v]) => [k, String(v)])),
    })), ...randomOps(options.sim.stream('cluster/admin'), options.params.adminOps, Math.min(3, options.brokers.length))];
  }

  /** Every planned operation was invoked and none is still waiting for an answer. */
  done(): boolean {
    return this.next >= this.plan.length && this.again.length === 0 && this.history.every((op) => op.status !== 'pending');
  }

  /** Starts driving the workload from a client node's incarnation; an earlier driver's pending operation is abandoned. */
  attach(ctx: SimNodeContext, alive: () => boolean): void {
    const id = ++this.driver;
    for (const op of this.history) {
      if (op.status === 'pending') {
        op.status = 'abandoned';
        if (op.maybeApplied || op.attempts > 0) op.effect = 'unknown';
        if (op.required === true) {
          const { kind, name, partitions, replicationFactor, configs, assignments } = op;
          this.again.push({ kind, name, partitions, replicationFactor, configs, required: true, ...(assignments === undefined ? {} : { assignments }) });
        }
      }
    }
    const live = (): boolean => alive() && this.driver === id;
    void this.drive(ctx.runtime, live, ctx.hostOf);
  }

  private async drive(runtime: Runtime, live: () => boolean, hostOf: (id: number) => string): Promise<void> {
    const clients = new Map<number, RpcClient<WireApis>>();
    const clientFor = (nodeId: number): RpcClient<WireApis> => {
      const known = clients.get(nodeId);
      if (known !== undefined && !known.isClosed) return known;
      const client: RpcClient<WireApis> = new RpcClient(runtime.network.connect(`${hostOf(nodeId)}:${this.options.port}`, {}), {
        registry: wireRegistry,
        clock: runtime.clock,
        log: runtime.log.child({ actor: 'admin' }),
        onClose: () => {
          if (clients.get(nodeId) === client) clients.delete(nodeId);
        },
      });
      clients.set(nodeId, client);
      return client;
    };
    while (live() && (this.again.length > 0 || this.next < this.plan.length)) {
      const spec = this.again.shift() ?? this.plan[this.next++]!;
      const op: AdminOp = { ...spec, seq: this.history.length, invokedAtMs: this.options.sim.nowMs(), status: 'pending', effect: 'unknown', answer: null, topicId: null, attempts: 0, maybeApplied: false };
      this.history.push(op);
      runtime.log.info({ seq: op.seq, kind: op.kind, topic: op.name }, 'admin: invoke');
      while (live() && op.status === 'pending') {
        const target = this.options.servers[this.roundRobin++ % this.options.servers.length]!;
        op.attempts++;
        let error: { code: string } | null;
        let topicId: string | null = null;
        try {
          if (op.kind === 'create') {
            const r = await clientFor(target).request('controller.create-topics', { topics: [{ name: op.name, numPartitions: op.partitions, replicationFactor: op.replicationFactor, configs: op.configs, ...(op.assignments === undefined ? {} : { assignments: op.assignments }) }], validateOnly: false }, { timeoutMs: this.options.params.adminTimeoutMs });
            error = r.topics[0]?.error ?? null;
            topicId = r.topics[0]?.topicId ?? null;
          } else {
            const r = await clientFor(target).request('controller.delete-topics', { topics: [{ name: op.name }] }, { timeoutMs: this.options.params.adminTimeoutMs });
            error = r.topics[0]?.error ?? null;
            topicId = r.topics[0]?.topicId ?? null;
          }
        } catch (e) {
          if (!(e instanceof RaftlineError)) throw e;
          error = e.toWire();
        }
        if (!live()) return;
        this.settle(op, error, topicId);
        if (op.status === 'pending') await sleep(runtime.clock, this.options.params.adminRetryMs);
      }
      if (op.status !== 'pending') runtime.log.info({ seq: op.seq, kind: op.kind, topic: op.name, answer: op.answer, effect: op.effect }, 'admin: done');
      if (live()) await sleep(runtime.clock, this.options.params.adminIntervalMs);
    }
  }

  /** Records one attempt's answer: retry, or end the operation with the effect the answer implies. */
  private settle(op: AdminOp, error: { code: string } | null, topicId: string | null): void {
    const code = (error?.code ?? null) as ErrorCode | null;
    if (code !== null && retryCodes.has(code)) {
      if (maybeAppliedCodes.has(code)) op.maybeApplied = true;
      return;
    }
    op.status = 'done';
    op.answer = code ?? 'ok';
    op.topicId = topicId;
    if (op.kind === 'create' && (code === null || code === 'TOPIC_ALREADY_EXISTS')) op.effect = 'exists';
    else if (op.kind === 'delete' && (code === null || code === 'UNKNOWN_TOPIC_OR_PARTITION')) op.effect = 'absent';
    else op.effect = op.maybeApplied ? 'unknown' : 'unchanged';
    if (code === 'TOPIC_ALREADY_EXISTS' || code === 'UNKNOWN_TOPIC_OR_PARTITION') op.topicId = null;
  }

  /** What the history implies for each topic name: its last settling operation, unless a later one left it unknown. */
  expected(): Map<string, { state: 'exists' | 'absent'; topicId: string | null; seq: number }> {
    const out = new Map<string, { state: 'exists' | 'absent'; topicId: string | null; seq: number } | null>();
    for (const op of this.history) {
      if (op.effect === 'exists' || op.effect === 'absent') out.set(op.name, { state: op.effect, topicId: op.topicId, seq: op.seq });
      else if (op.effect === 'unknown') out.set(op.name, null);
    }
    const settled = new Map<string, { state: 'exists' | 'absent'; topicId: string | null; seq: number }>();
    for (const [name, e] of out) if (e !== null) settled.set(name, e);
    return settled;
  }

  /** The first way `image` disagrees with the history, or null. */
  matches(image: MetadataImage): string | null {
    for (const [name, e] of this.expected()) {
      const topic = image.topicsByName.get(name);
      if (e.state === 'exists' && topic === undefined) return `topic ${name} was acknowledged created (op ${e.seq}) but is missing at offset ${image.offset}`;
      if (e.state === 'absent' && topic !== undefined) return `topic ${name} was acknowledged deleted or absent (op ${e.seq}) but exists at offset ${image.offset}`;
      if (e.state === 'exists' && e.topicId !== null && topic !== undefined && topic.topicId !== e.topicId) {
        return `topic ${name} was acknowledged created with id ${e.topicId} (op ${e.seq}) but has id ${topic.topicId} at offset ${image.offset}`;
      }
    }
    return null;
  }
}

function randomOps(random: Random, count: number, rfMax: number): AdminOpSpec[] {
  const ops: AdminOpSpec[] = [];
  for (let i = 0; i < count; i++) {
    const name = adminTopicPool[random.int(adminTopicPool.length)]!;
    if (random.next() < 0.6) {
      const rf = 1 + random.int(Math.max(1, rfMax));
      ops.push({ kind: 'create', name, partitions: 1 + random.int(3), replicationFactor: rf, configs: { 'min.insync.replicas': String(1 + random.int(rf)) } });
    } else {
      ops.push({ kind: 'delete', name, partitions: 0, replicationFactor: 0, configs: {} });
    }
  }
  return ops;
}

/**
 * `cluster.admin-outcome`: when the liveness phase ends (the cluster converged, every node at the same image), that
 * image shows every topic the history settled: acknowledged creates exist with the id they were given, acknowledged
 * deletes are gone.
 */
export function adminHistoryChecker(admin: AdminWorkload, image: () => MetadataImage | null): Checker {
  return {
    name: 'cluster.admin-outcome',
    atEnd(_sim, phase, fail) {
      if (phase !== 'liveness') return;
      const now = image();
      if (now === null) return;
      const mismatch = admin.matches(now);
      if (mismatch !== null) fail(mismatch);
    },
  };
}
