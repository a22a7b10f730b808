// A toy data plane for specifying the simulator's data workload and checkers end to end, independently of the real
// replication code: one broker (node 1) leads every partition, answers the `data.*` wire family from an in-memory log,
// and acknowledges at append. `durable` keeps its log across crashes (as if every append were synced); `volatile`
// loses it on a crash — a planted durability bug the data checkers must report as lost writes and attribute.
import { assignOffsetAndEpoch, readBatchHeader } from '../../src/storage/record-batch.js';
import { createRpcServer, noResponse, type HandlerTable } from '../../src/wire/server.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RaftlineError, wireError } from '../../src/wire/errors.js';
import { dataCheckers, type DataVerdict, type HistoryEvent } from '../../sim/checkers/data.js';
import { DataWorkload, dataParams } from '../../sim/systems/cluster-data.js';
import type { Schedule } from '../../sim/schedule.js';
import type { Simulation } from '../../sim/simulation.js';
import type { SimNode, SimNodeContext, SimSystem } from '../../sim/system.js';

const port = 9092;

interface PartitionLog {
  batches: Uint8Array[];
  endOffset: number;
  /** producerId/sequence -> offset of the batch it wrote (idempotent duplicates get it back). */
  seen: Map<string, number>;
}

type Logs = Map<string, PartitionLog>;

interface ToyWorld {
  data: DataWorkload;
  verdict: { verdict?: DataVerdict };
  /** The durable broker's logs, which survive its crashes. */
  durableLogs: Logs;
}

const worlds = new WeakMap<Schedule, ToyWorld>();

function logOf(logs: Logs, topic: string, partition: number): PartitionLog {
  const key = `${topic}-${partition}`;
  let log = logs.get(key);
  if (log === undefined) {
    log = { batches: [], endOffset: 0, seen: new Map() };
    logs.set(key, log);
  }
  return log;
}

function toyHandlers(ctx: SimNodeContext, logs: Logs): HandlerTable<WireApis> {
  const topics = ctx.schedule.cluster.topics;
  let nextProducerId = 1000 * (ctx.incarnation + 1);
  return {
    'data.metadata': () => ({
      clusterId: 'toy',
      controllerId: null,
      metadataOffset: 0,
      brokers: [{ brokerId: 1, host: ctx.hostOf(1), port, rack: null }],
      topics: topics.map((t) => ({
        name: t.name,
        topicId: null,
        error: null,
        partitions: Array.from({ length: t.partitions }, (_, i) => ({ partitionId: i, error: null, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [] })),
      })),
    }),
    'data.init-producer-id': () => ({ producerId: nextProducerId++, producerEpoch: 0 }),
    'data.produce': (body) => {
      const out = body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = logOf(logs, t.name, p.partitionId);
          const bytes = Uint8Array.from(p.records);
          const header = readBatchHeader(bytes);
          const id = header.producerId >= 0 ? `${header.producerId}/${header.baseSequence}` : null;
          const known = id === null ? undefined : log.seen.get(id);
          if (known !== undefined) return { partitionId: p.partitionId, error: null, baseOffset: known, logAppendTime: -1, logStartOffset: 0 };
          const baseOffset = log.endOffset;
          assignOffsetAndEpoch(bytes, 0, baseOffset, 0);
          log.batches.push(bytes);
          log.endOffset += header.lastOffsetDelta + 1;
          if (id !== null) log.seen.set(id, baseOffset);
          return { partitionId: p.partitionId, error: null, baseOffset, logAppendTime: -1, logStartOffset: 0 };
        }),
      }));
      return body.acks === 0 ? noResponse : { topics: out };
    },
    // Earliest is 0 (nothing is ever deleted here) and latest the end, the toy's high watermark; enough for the real
    // Consumer's seekToBeginning and auto.offset.reset. Time queries are not served.
    'data.list-offsets': (body) => ({
      topics: body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (p.timestamp >= 0) return { partitionId: p.partitionId, error: wireError('INVALID_REQUEST', 'the toy serves only earliest and latest'), timestamp: -1, offset: -1, leaderEpoch: -1 };
          const offset = p.timestamp === -2 ? 0 : logOf(logs, t.name, p.partitionId).endOffset;
          return { partitionId: p.partitionId, error: null, timestamp: -1, offset, leaderEpoch: 0 };
        }),
      })),
    }),
    'data.fetch': (body) => ({
      topics: body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = logOf(logs, t.name, p.partitionId);
          if (p.fetchOffset > log.endOffset) throw new RaftlineError('OFFSET_OUT_OF_RANGE', `offset ${p.fetchOffset} beyond ${log.endOffset}`);
          const parts = log.batches.filter((b) => readBatchHeader(b).lastOffset >= p.fetchOffset);
          return { partitionId: p.partitionId, error: null, highWatermark: log.endOffset, lastStableOffset: log.endOffset, logStartOffset: 0, records: Buffer.concat(parts) };
        }),
      })),
    }),
  };
}

class ToyBroker implements SimNode {
  constructor(
    private readonly ctx: SimNodeContext,
    private readonly logs: Logs,
  ) {}

  async start(): Promise<void> {
    const rpc = createRpcServer({ registry: wireRegistry, handlers: toyHandlers(this.ctx, this.logs), log: this.ctx.runtime.log, clock: this.ctx.runtime.clock });
    await this.ctx.runtime.network.listen({ host: this.ctx.host, port }, (c) => rpc.accept(c));
  }

  stop(): void {}
}

class ToyClient implements SimNode {
  private stopped = false;
  constructor(
    private readonly ctx: SimNodeContext,
    private readonly world: ToyWorld,
    private readonly sim: () => Simulation,
  ) {}

  start(): void {
    this.world.data.attach(this.ctx, () => !this.stopped && this.sim().process(this.ctx.nodeId).incarnation === this.ctx.incarnation);
  }

  stop(): void {
    this.stopped = true;
  }
}

/** The toy system; `durable: false` plants the durability bug. */
export function toyDataSystem(options: { durable: boolean }): SimSystem & { verdictOf(schedule: Schedule): DataVerdict | undefined; historyOf(schedule: Schedule): readonly HistoryEvent[] } {
  const sims = new WeakMap<Schedule, Simulation>();
  return {
    name: options.durable ? 'toy-data' : 'toy-data-volatile',
    createNode(ctx) {
      const world = worlds.get(ctx.schedule)!;
      if (ctx.roles.includes('client')) return new ToyClient(ctx, world, () => sims.get(ctx.schedule)!);
      // The volatile broker's log lives in its incarnation's memory and dies with it.
      return new ToyBroker(ctx, options.durable ? world.durableLogs : new Map());
    },
    checkers(sim) {
      const data = new DataWorkload({ sim, params: dataParams(sim.schedule.workload.params), servers: [1], port });
      const world: ToyWorld = { data, verdict: {}, durableLogs: new Map() };
      worlds.set(sim.schedule, world);
      sims.set(sim.schedule, sim);
      sim.trace.subscribe((e) => data.onTrace(e));
      return dataCheckers(() => data.history, world.verdict);
    },
    converged(sim) {
      return worlds.get(sim.schedule)!.data.done();
    },
    verdictOf(schedule) {
      return worlds.get(schedule)?.verdict.verdict;
    },
    historyOf(schedule) {
      return worlds.get(schedule)?.data.history ?? [];
    },
  };
}
