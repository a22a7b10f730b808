// The real ClientChannel: the data.* apis (src/wire/data.ts) over RpcClient connections made with the Network port,
// one connection per broker address, reopened on demand after it closes. Invariants: every call settles with data
// or a RaftlineError (a connection that cannot be made becomes NETWORK_EXCEPTION); metadata is asked of the last
// node that answered, then of the others in turn, so one dead bootstrap node does not stall a client.
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Network } from '../runtime/network.js';
import { parseAddress } from '../runtime/network.js';
import type { WireMetrics } from '../wire/metrics.js';
import { RpcClient } from '../wire/rpc.js';
import { wireRegistry, type WireApis } from '../wire/registry.js';
import { RaftlineError, isErrorCode, type ErrorCode } from '../wire/errors.js';
import type {
  BrokerNode,
  ClientChannel,
  ClusterMetadata,
  FetchCall,
  FetchPartitionResult,
  ListOffsetsCall,
  ListOffsetsResult,
  ProduceCall,
  ProducePartitionResult,
  TopicMetadata,
} from './channel.js';

export interface WireChannelOptions {
  /** "host:port" of one or more nodes to ask for metadata first. */
  bootstrap: readonly string[];
  network: Network;
  clock: Clock;
  log: Logger;
  /** Time one request may take before REQUEST_TIMED_OUT (fetches add their long-poll wait to it). */
  requestTimeoutMs: number;
  metrics?: WireMetrics;
}

/** Requests one client connection may hold outstanding (the producer enforces its own max.in.flight below this). */
const connectionInFlightMax = 64;

function itemError(error: { code: string; message: string } | null): { code: ErrorCode; message: string } | null {
  if (error === null) return null;
  return { code: isErrorCode(error.code) ? error.code : 'UNKNOWN_SERVER_ERROR', message: error.message };
}

/** Groups per-partition entries by topic, keeping first-seen order: the wire's `topics: [{ name, partitions }]`. */
function byTopic<T extends { topic: string }, P>(items: readonly T[], map: (item: T) => P): Array<{ name: string; partitions: P[] }> {
  const out = new Map<string, P[]>();
  for (const item of items) {
    let list = out.get(item.topic);
    if (list === undefined) {
      list = [];
      out.set(item.topic, list);
    }
    list.push(map(item));
  }
  return [...out].map(([name, partitions]) => ({ name, partitions }));
}

export function createWireChannel(options: WireChannelOptions): ClientChannel {
  if (options.bootstrap.length === 0) throw new RangeError('client: at least one bootstrap address is needed');
  for (const address of options.bootstrap) parseAddress(address);
  const connections = new Map<string, RpcClient<WireApis>>();
  let preferred = 0;
  let knownBrokers: string[] = [];
  let closed = false;

  function rpcTo(address: string): RpcClient<WireApis> {
    if (closed) throw new RaftlineError('NETWORK_EXCEPTION', `client closed; not connecting to ${address}`);
    const existing = connections.get(address);
    if (existing !== undefined && !existing.isClosed) return existing;
    const rpc = new RpcClient(options.network.connect(address, {}), {
      registry: wireRegistry,
      clock: options.clock,
      log: options.log,
      inFlightMax: connectionInFlightMax,
      timeoutMsDefault: options.requestTimeoutMs,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      onClose: () => {
        if (connections.get(address) === rpc) connections.delete(address);
      },
    });
    connections.set(address, rpc);
    return rpc;
  }

  function candidates(): string[] {
    const all = [...new Set([...options.bootstrap, ...knownBrokers])];
    const start = preferred % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  async function metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    let lastError: unknown;
    const list = candidates();
    for (let i = 0; i < list.length; i++) {
      const address = list[i]!;
      try {
        const res = await rpcTo(address).request('data.metadata', { topics: topics === null ? null : [...topics] });
        const all = [...new Set([...options.bootstrap, ...knownBrokers])];
        preferred = all.indexOf(address);
        const brokers = new Map<number, BrokerNode>();
        for (const b of res.brokers) brokers.set(b.brokerId, { nodeId: b.brokerId, address: `${b.host}:${b.port}` });
        knownBrokers = [...brokers.values()].map((b) => b.address).sort();
        const topicMap = new Map<string, TopicMetadata>();
        for (const t of res.topics) {
          topicMap.set(t.name, {
            name: t.name,
            error: itemError(t.error)?.code ?? null,
            partitions: t.partitions
              .map((p) => ({ partition: p.partitionId, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr }))
              .sort((a, b) => a.partition - b.partition),
          });
        }
        return { brokers, topics: topicMap };
      } catch (err) {
        lastError = err;
        options.log.debug({ err, address }, 'client: metadata request failed; trying the next node');
      }
    }
    if (lastError instanceof RaftlineError) throw lastError;
    throw new RaftlineError('NETWORK_EXCEPTION', `no node answered a metadata request (${list.join(', ')})`, { cause: lastError });
  }

  async function produce(node: BrokerNode, call: ProduceCall): Promise<ProducePartitionResult[]> {
    const body = {
      acks: call.acks,
      timeoutMs: call.timeoutMs,
      topics: byTopic(call.partitions, (p) => ({ partitionId: p.partition, records: p.records })),
    };
    const rpc = rpcTo(node.address);
    if (call.acks === 0) {
      // One way: the broker answers nothing (src/wire/data.ts); the records count as sent once handed over.
      rpc.send('data.produce', body);
      return call.partitions.map((p) => ({ topic: p.topic, partition: p.partition, error: null, baseOffset: -1 }));
    }
    const res = await rpc.request('data.produce', body, { timeoutMs: call.timeoutMs + options.requestTimeoutMs });
    const out: ProducePartitionResult[] = [];
    for (const t of res.topics) {
      for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionId, error: itemError(p.error), baseOffset: p.baseOffset });
    }
    return out;
  }

  async function fetch(node: BrokerNode, call: FetchCall): Promise<FetchPartitionResult[]> {
    const res = await rpcTo(node.address).request(
      'data.fetch',
      {
        replicaId: -1,
        maxWaitMs: call.maxWaitMs,
        minBytes: call.minBytes,
        maxBytes: call.maxBytes,
        topics: byTopic(call.partitions, (p) => ({
          partitionId: p.partition,
          fetchOffset: p.fetchOffset,
          currentLeaderEpoch: p.currentLeaderEpoch,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: p.partitionMaxBytes,
        })),
      },
      { timeoutMs: call.maxWaitMs + options.requestTimeoutMs },
    );
    const out: FetchPartitionResult[] = [];
    for (const t of res.topics) {
      for (const p of t.partitions) {
        out.push({
          topic: t.name,
          partition: p.partitionId,
          error: itemError(p.error),
          highWatermark: p.highWatermark,
          logStartOffset: p.logStartOffset,
          records: p.records,
        });
      }
    }
    return out;
  }

  async function listOffsets(node: BrokerNode, call: ListOffsetsCall): Promise<ListOffsetsResult[]> {
    const res = await rpcTo(node.address).request('data.list-offsets', {
      replicaId: -1,
      topics: byTopic(call.partitions, (p) => ({ partitionId: p.partition, currentLeaderEpoch: -1, timestamp: p.timestamp })),
    });
    const out: ListOffsetsResult[] = [];
    for (const t of res.topics) {
      for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionId, error: itemError(p.error), offset: p.offset });
    }
    return out;
  }

  async function initProducerId(current?: { producerId: number; producerEpoch: number }): Promise<{ producerId: number; producerEpoch: number }> {
    let lastError: unknown;
    const body = current === undefined ? {} : { producerId: current.producerId, producerEpoch: current.producerEpoch };
    for (const address of candidates()) {
      try {
        return await rpcTo(address).request('data.init-producer-id', body);
      } catch (err) {
        lastError = err;
        // A broker-side refusal that another broker would repeat is final; a dead node is not.
        if (err instanceof RaftlineError && !err.retriable) throw err;
      }
    }
    if (lastError instanceof RaftlineError) throw lastError;
    throw new RaftlineError('NETWORK_EXCEPTION', 'no node answered init-producer-id', { cause: lastError });
  }

  return {
    metadata,
    produce,
    fetch,
    listOffsets,
    initProducerId,
    close() {
      closed = true;
      for (const rpc of connections.values()) rpc.close('client closed');
      connections.clear();
    },
  };
}
