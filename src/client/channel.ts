// What the clients need from the cluster, as plain data: metadata, produce, fetch, list-offsets and producer ids.
// The Producer and Consumer talk only to a ClientChannel; `createWireChannel` (wire-channel.ts) is the real one over
// the Network port, and specs may give a fake. Invariant: every call settles with data or a RaftlineError carrying a
// wire code (NETWORK_EXCEPTION and REQUEST_TIMED_OUT included), so retry decisions switch on codes only.
import type { ErrorCode } from '../wire/errors.js';

export interface BrokerNode {
  nodeId: number;
  /** "host:port" of its client endpoint. */
  address: string;
}

export interface PartitionMetadata {
  partition: number;
  /** -1 while the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
}

export interface TopicMetadata {
  name: string;
  /** Set when the cluster refused to describe the topic (UNKNOWN_TOPIC_OR_PARTITION, ...). */
  error: ErrorCode | null;
  partitions: readonly PartitionMetadata[];
}

export interface ClusterMetadata {
  brokers: ReadonlyMap<number, BrokerNode>;
  topics: ReadonlyMap<string, TopicMetadata>;
}

/** acks: 0 (no acknowledgement), 1 (the leader's append), -1 (all in-sync replicas). */
export type Acks = 0 | 1 | -1;

export interface ProducePartitionData {
  topic: string;
  partition: number;
  /** One or more whole record batches, as encodeBatch made them. */
  records: Uint8Array;
}

export interface ProduceCall {
  acks: Acks;
  timeoutMs: number;
  partitions: readonly ProducePartitionData[];
}

export interface ProducePartitionResult {
  topic: string;
  partition: number;
  error: { code: ErrorCode; message: string } | null;
  /** Offset of the first record of the batch (-1 when unknown). */
  baseOffset: number;
}

export interface FetchPartitionData {
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  /** The leader epoch the consumer believes current (-1: unknown); a stale one gets FENCED_LEADER_EPOCH. */
  currentLeaderEpoch: number;
}

export interface FetchCall {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitions: readonly FetchPartitionData[];
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  error: { code: ErrorCode; message: string } | null;
  highWatermark: number;
  logStartOffset: number;
  /** Whole record batches (the stored bytes); may be empty. */
  records: Uint8Array;
}

/** Kafka's ListOffsets special timestamps. */
export const earliestTimestamp = -2;
export const latestTimestamp = -1;

export interface ListOffsetsCall {
  partitions: ReadonlyArray<{ topic: string; partition: number; timestamp: number }>;
}

export interface ListOffsetsResult {
  topic: string;
  partition: number;
  error: { code: ErrorCode; message: string } | null;
  offset: number;
}

export interface ClientChannel {
  /** Metadata of `topics` (null: every topic), from any node that answers. */
  metadata(topics: readonly string[] | null): Promise<ClusterMetadata>;
  /** Resolves with one result per partition; with acks=0 the results carry no offsets (baseOffset -1). */
  produce(node: BrokerNode, call: ProduceCall): Promise<ProducePartitionResult[]>;
  fetch(node: BrokerNode, call: FetchCall): Promise<FetchPartitionResult[]>;
  listOffsets(node: BrokerNode, call: ListOffsetsCall): Promise<ListOffsetsResult[]>;
  /**
   * A fresh producer id (epoch 0), or with `current` the same id's next epoch (KIP-360: the producer's sequences
   * broke and restart at 0 in every partition).
   */
  initProducerId(current?: { producerId: number; producerEpoch: number }): Promise<{ producerId: number; producerEpoch: number }>;
  close(): void;
}

/** Starts a channel call and hands its outcome, a synchronous throw included, to exactly one of the two handlers. */
export function whenSettled<T>(start: () => Promise<T>, ok: (value: T) => void, fail: (err: unknown) => void): void {
  let promise: Promise<T>;
  try {
    promise = start();
  } catch (err) {
    promise = Promise.reject(err);
  }
  promise.then(ok, fail);
}
