// A tiny in-process cluster for client specs: N wire servers (src/wire/server.ts) on 127.0.0.1 sharing one in-memory
// log per partition, serving the data.* apis. It keeps the broker rules a client depends on — only the leader takes
// produce and fetch (NOT_LEADER_OR_FOLLOWER otherwise), offsets assigned by the leader, idempotent producers' last
// 5 batches remembered per partition (a duplicate gets its original offset, a gap OUT_OF_ORDER_SEQUENCE_NUMBER),
// OFFSET_OUT_OF_RANGE outside [logStart, end] — and lets a spec inject faults: move a leader, fail the next produce
// of a partition with a code (before or after appending), or hold responses.
import type { ExecutionContext } from 'ava';
import { createRealNetwork, realClock } from '../../src/runtime/real/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import type { Listener } from '../../src/runtime/network.js';
import { assignOffsetAndEpoch, decodeRecords, validateBatches } from '../../src/storage/record-batch.js';
import { createRpcServer, noResponse } from '../../src/wire/server.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { RaftlineError, wireError, type ErrorCode } from '../../src/wire/errors.js';
import type { FetchResponse, ListOffsetsResponse, MetadataResponse, ProduceResponse } from '../../src/wire/data.js';

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

interface ProducerEntry {
  /** Last batches appended by this producer on this partition: base sequence → [baseOffset, lastSequence]. */
  recent: Array<{ baseSequence: number; lastSequence: number; baseOffset: number }>;
}

export interface FakePartition {
  leader: number;
  leaderEpoch: number;
  batches: StoredBatch[];
  logStartOffset: number;
  endOffset: number;
  producers: Map<number, ProducerEntry>;
}

export interface InjectedFault {
  code: ErrorCode;
  /** Append the batch first, then answer the error (a lost acknowledgement). */
  afterAppend?: boolean;
}

export interface FakeCluster {
  addresses: string[];
  topics: Map<string, FakePartition[]>;
  createTopic(name: string, partitions: number, leader?: (p: number) => number): void;
  moveLeader(topic: string, partition: number, to: number): void;
  /** Faults applied to the next produce requests of a partition, one per request, in order. */
  failProduce(topic: string, partition: number, faults: InjectedFault[]): void;
  /** Records of a partition in offset order (values as UTF-8). */
  values(topic: string, partition: number): string[];
  truncateBefore(topic: string, partition: number, offset: number): void;
  requests: Record<string, number>;
  close(): Promise<void>;
}

export async function startFakeCluster(t: ExecutionContext, brokers = 3): Promise<FakeCluster> {
  const topics = new Map<string, FakePartition[]>();
  const faults = new Map<string, InjectedFault[]>();
  const requests: Record<string, number> = {};
  const listeners: Listener[] = [];
  let nextProducerId = 1000;
  const network = createRealNetwork({ log: silentLogger });
  const ports: Array<{ host: string; port: number }> = [];

  const count = (api: string): void => {
    requests[api] = (requests[api] ?? 0) + 1;
  };

  const partitionOf = (topic: string, partition: number): FakePartition | undefined => topics.get(topic)?.[partition];

  function append(p: FakePartition, records: Uint8Array): { baseOffset: number } {
    const headers = validateBatches(records);
    let firstBase = -1;
    for (const { header, position } of headers) {
      if (header.producerId >= 0) {
        const entry = p.producers.get(header.producerId) ?? { recent: [] };
        const dup = entry.recent.find((r) => r.baseSequence === header.baseSequence);
        if (dup !== undefined) {
          if (firstBase < 0) firstBase = dup.baseOffset;
          continue;
        }
        const last = entry.recent[entry.recent.length - 1];
        const expected = last === undefined ? 0 : last.lastSequence + 1;
        if (header.baseSequence !== expected) {
          throw new RaftlineError('OUT_OF_ORDER_SEQUENCE_NUMBER', `expected sequence ${expected}, got ${header.baseSequence}`);
        }
        entry.recent.push({ baseSequence: header.baseSequence, lastSequence: header.baseSequence + header.recordCount - 1, baseOffset: p.endOffset });
        if (entry.recent.length > 5) entry.recent.shift();
        p.producers.set(header.producerId, entry);
      }
      const bytes = Buffer.from(records.subarray(position, position + header.sizeBytes));
      assignOffsetAndEpoch(bytes, 0, p.endOffset, p.leaderEpoch);
      p.batches.push({ baseOffset: p.endOffset, lastOffset: p.endOffset + header.lastOffsetDelta, bytes });
      if (firstBase < 0) firstBase = p.endOffset;
      p.endOffset += header.lastOffsetDelta + 1;
    }
    return { baseOffset: firstBase };
  }

  for (let id = 0; id < brokers; id++) {
    const server = createRpcServer({
      registry: wireRegistry,
      clock: realClock,
      log: silentLogger,
      handlers: {
        'data.metadata': (body): MetadataResponse => {
          count('data.metadata');
          const names = body.topics ?? [...topics.keys()];
          return {
            clusterId: 'fake',
            controllerId: 0,
            metadataOffset: 1,
            brokers: ports.map((a, brokerId) => ({ brokerId, host: a.host, port: a.port, rack: null })),
            topics: names.map((name) => {
              const parts = topics.get(name);
              if (parts === undefined) return { name, topicId: null, error: wireError('UNKNOWN_TOPIC_OR_PARTITION'), partitions: [] };
              return {
                name,
                topicId: null,
                error: null,
                partitions: parts.map((p, partitionId) => ({
                  partitionId,
                  error: p.leader < 0 ? wireError('LEADER_NOT_AVAILABLE') : null,
                  leader: p.leader,
                  leaderEpoch: p.leaderEpoch,
                  replicas: [...Array(brokers).keys()],
                  isr: [...Array(brokers).keys()],
                  offlineReplicas: [],
                })),
              };
            }),
          };
        },
        'data.init-producer-id': () => {
          count('data.init-producer-id');
          return { producerId: nextProducerId++, producerEpoch: 0 };
        },
        'data.produce': (body) => {
          count('data.produce');
          const out: ProduceResponse = { topics: [] };
          for (const t of body.topics) {
            const partitions: ProduceResponse['topics'][number]['partitions'] = [];
            for (const { partitionId, records } of t.partitions) {
              const answer = (error: ErrorCode | null, baseOffset = -1): void => {
                partitions.push({ partitionId, error: error === null ? null : wireError(error), baseOffset, logAppendTime: -1, logStartOffset: 0 });
              };
              const p = partitionOf(t.name, partitionId);
              if (p === undefined) {
                answer('UNKNOWN_TOPIC_OR_PARTITION');
                continue;
              }
              if (p.leader !== id) {
                answer('NOT_LEADER_OR_FOLLOWER');
                continue;
              }
              const fault = faults.get(`${t.name}/${partitionId}`)?.shift();
              if (fault !== undefined && !fault.afterAppend) {
                answer(fault.code);
                continue;
              }
              try {
                const { baseOffset } = append(p, records);
                if (fault !== undefined) answer(fault.code);
                else answer(null, baseOffset);
              } catch (err) {
                if (err instanceof RaftlineError) answer(err.code);
                else throw err;
              }
            }
            out.topics.push({ name: t.name, partitions });
          }
          return body.acks === 0 ? noResponse : out;
        },
        'data.fetch': async (body) => {
          count('data.fetch');
          const deadline = Date.now() + body.maxWaitMs;
          for (;;) {
            let bytes = 0;
            const out: FetchResponse = { topics: [] };
            for (const t of body.topics) {
              const partitions: FetchResponse['topics'][number]['partitions'] = [];
              for (const fp of t.partitions) {
                const p = partitionOf(t.name, fp.partitionId);
                const base = { partitionId: fp.partitionId, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: new Uint8Array(0) };
                if (p === undefined) partitions.push({ ...base, error: wireError('UNKNOWN_TOPIC_OR_PARTITION') });
                else if (p.leader !== id) partitions.push({ ...base, error: wireError('NOT_LEADER_OR_FOLLOWER') });
                else if (fp.fetchOffset < p.logStartOffset || fp.fetchOffset > p.endOffset) {
                  partitions.push({ ...base, error: wireError('OFFSET_OUT_OF_RANGE'), highWatermark: p.endOffset, logStartOffset: p.logStartOffset });
                } else {
                  const chunks: Buffer[] = [];
                  let size = 0;
                  for (const b of p.batches) {
                    if (b.lastOffset < fp.fetchOffset) continue;
                    if (size > 0 && size + b.bytes.length > fp.partitionMaxBytes) break;
                    chunks.push(b.bytes);
                    size += b.bytes.length;
                  }
                  bytes += size;
                  partitions.push({ ...base, error: null, highWatermark: p.endOffset, lastStableOffset: p.endOffset, logStartOffset: p.logStartOffset, records: Buffer.concat(chunks) });
                }
              }
              out.topics.push({ name: t.name, partitions });
            }
            if (bytes >= Math.max(1, body.minBytes) || Date.now() >= deadline) return out;
            await new Promise((r) => setTimeout(r, 5));
          }
        },
        'data.list-offsets': (body): ListOffsetsResponse => {
          count('data.list-offsets');
          return {
            topics: body.topics.map((t) => ({
              name: t.name,
              partitions: t.partitions.map((lp) => {
                const p = partitionOf(t.name, lp.partitionId);
                if (p === undefined) return { partitionId: lp.partitionId, error: wireError('UNKNOWN_TOPIC_OR_PARTITION'), timestamp: -1, offset: -1, leaderEpoch: -1 };
                if (p.leader !== id) return { partitionId: lp.partitionId, error: wireError('NOT_LEADER_OR_FOLLOWER'), timestamp: -1, offset: -1, leaderEpoch: -1 };
                const offset = lp.timestamp === -2 ? p.logStartOffset : p.endOffset;
                return { partitionId: lp.partitionId, error: null, timestamp: -1, offset, leaderEpoch: p.leaderEpoch };
              }),
            })),
          };
        },
      },
    });
    const listener = await server.listen(network, { host: '127.0.0.1', port: 0 });
    listeners.push(listener);
    const [host, port] = listener.address.split(':');
    ports.push({ host: host!, port: Number(port) });
  }

  const cluster: FakeCluster = {
    addresses: listeners.map((l) => l.address),
    topics,
    requests,
    createTopic(name, partitions, leader = (p) => p % brokers) {
      topics.set(
        name,
        Array.from({ length: partitions }, (_, p) => ({ leader: leader(p), leaderEpoch: 0, batches: [], logStartOffset: 0, endOffset: 0, producers: new Map() })),
      );
    },
    moveLeader(topic, partition, to) {
      const p = partitionOf(topic, partition)!;
      p.leader = to;
      p.leaderEpoch++;
    },
    failProduce(topic, partition, list) {
      faults.set(`${topic}/${partition}`, [...(faults.get(`${topic}/${partition}`) ?? []), ...list]);
    },
    values(topic, partition) {
      const p = partitionOf(topic, partition)!;
      const out: string[] = [];
      for (const b of p.batches) {
        for (const r of decodeAll(b.bytes)) out.push(r);
      }
      return out;
    },
    truncateBefore(topic, partition, offset) {
      const p = partitionOf(topic, partition)!;
      p.batches = p.batches.filter((b) => b.lastOffset >= offset);
      p.logStartOffset = offset;
    },
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
  t.teardown(() => cluster.close());
  return cluster;
}

function decodeAll(bytes: Buffer): string[] {
  return decodeRecords(bytes).map((r) => (r.value === null ? '<null>' : r.value.toString('utf8')));
}
