// The `data.*` family: the replication data plane (produce, fetch, list-offsets, init-producer-id) and the client
// metadata call, one zod schema per request and response with the inferred type under the same name.
// Invariants: every list a frame may carry is bounded by src/limits.ts, so a hostile frame is refused at the edge;
// records travel as one opaque byte string of record batches in the storage format (src/storage/record-batch.ts),
// which brokers check by header and CRC but never re-encode. A whole-request failure travels as the envelope's
// error; per-partition failures are `error` fields inside the body (null on success), as in Kafka's responses.
//
// acks=0: a `data.produce` with `acks: 0` gets NO response frame, not even an error (Kafka's rule). The producer sends
// it with `RpcClient.send` (fire and forget, no pending slot, no timeout) and the broker's handler returns
// `noResponse` (src/wire/server.ts), so the server writes nothing back. Errors of such a request are only logged
// and counted; the producer learns of a leadership change from its next metadata refresh.
import { z } from 'zod';
import {
  dataFetchWaitMsMax,
  dataPartitionsPerRequestMax,
  dataProduceTimeoutMsMax,
  frameBytesMax,
  nodesMax,
  partitionsPerTopicMax,
  replicationFactorMax,
  topicsPerRequestMax,
} from '../limits.js';
import { WireErrorSchema } from './envelope.js';
import { Bytes } from './node.js';

const BrokerId = z.number().int().min(0).max(nodesMax - 1);
const TopicName = z.string().min(1).max(249);
const TopicId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a topic id is 22 base64url characters');
const PartitionId = z.number().int().min(0).max(partitionsPerTopicMax - 1);
const Offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An offset or -1 ("none"/"unknown"). */
const OffsetOrNone = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const Epoch = z.number().int().min(0).max(2 ** 31 - 1);
/** A leader epoch or -1: "unknown, do not check" (a client without metadata, a follower with an empty log). */
const EpochOrNone = z.number().int().min(-1).max(2 ** 31 - 1);
const Timestamp = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const ByteCount = z.number().int().min(0).max(frameBytesMax);
/** A per-partition error inside a response body; null for success. */
const ItemError = WireErrorSchema.nullable();
const ReplicaList = z.array(BrokerId).max(replicationFactorMax);

/** Bounds the total number of partitions named across a request's topics. */
function partitionsBounded<T extends { topics: ReadonlyArray<{ partitions: readonly unknown[] }> }>(value: T): boolean {
  let n = 0;
  for (const t of value.topics) n += t.partitions.length;
  return n <= dataPartitionsPerRequestMax;
}
const tooManyPartitions = { message: `at most ${dataPartitionsPerRequestMax} partitions in one request` };

/** The ids a request may name a topic by: its name always; its id optionally, checked against the broker's image
 * (a follower sets it so a topic deleted and re-created under the same name is not confused with the old one). */
const TopicRef = { name: TopicName, topicId: TopicId.optional() };

/** A request's topics, each naming 1..dataPartitionsPerRequestMax partitions of shape `partition`. */
function requestTopics<P extends z.ZodType>(partition: P, minTopics: 0 | 1) {
  return z
    .array(z.object({ ...TopicRef, partitions: z.array(partition).min(1).max(dataPartitionsPerRequestMax) }))
    .min(minTopics)
    .max(topicsPerRequestMax);
}

/** A response's topics, each with its per-partition results. */
function responseTopics<P extends z.ZodType>(partition: P) {
  return z.array(z.object({ name: z.string(), partitions: z.array(partition) }));
}

// ------------------------------------------------------------------------------------------ produce

/** -1 is acks=all: every in-sync replica has the batch (and at least min.insync.replicas of them). */
export const Acks = z.union([z.literal(0), z.literal(1), z.literal(-1)]);
export type Acks = z.infer<typeof Acks>;

export const ProduceRequest = z
  .object({
    acks: Acks,
    /** How long an acks=all request may wait for replication before REQUEST_TIMED_OUT (request.timeout.ms). */
    timeoutMs: z.number().int().min(0).max(dataProduceTimeoutMsMax),
    topics: requestTopics(
      z.object({
        partitionId: PartitionId,
        /** One or more record batches, back to back, in the storage format; offsets are assigned by the leader. */
        records: Bytes,
      }),
      1,
    ),
  })
  .refine(partitionsBounded, tooManyPartitions);
export type ProduceRequest = z.infer<typeof ProduceRequest>;

export const ProducePartitionResponse = z.object({
  partitionId: PartitionId,
  error: ItemError,
  /** Offset of the first record written (or, for a duplicate of a remembered batch, where it was written); -1 on error. */
  baseOffset: OffsetOrNone,
  /** The broker's append time when the topic uses LogAppendTime, else -1. */
  logAppendTime: Timestamp,
  logStartOffset: OffsetOrNone,
});
export type ProducePartitionResponse = z.infer<typeof ProducePartitionResponse>;

export const ProduceResponse = z.object({
  topics: responseTopics(ProducePartitionResponse),
});
export type ProduceResponse = z.infer<typeof ProduceResponse>;

// ------------------------------------------------------------------------------------------ fetch

export const FetchPartition = z.object({
  partitionId: PartitionId,
  fetchOffset: Offset,
  /** The leader epoch the fetcher believes current (-1: do not check). Older → FENCED_LEADER_EPOCH, newer →
   * UNKNOWN_LEADER_EPOCH (KIP-320). */
  currentLeaderEpoch: EpochOrNone,
  /** Epoch of the last batch the fetcher holds before fetchOffset (-1: none). The leader answers divergingEpoch when
   * its log disagrees (KIP-320 folds KIP-101's OffsetsForLeaderEpoch into Fetch). */
  lastFetchedEpoch: EpochOrNone,
  /** A follower's log start offset (-1 for consumers). */
  logStartOffset: OffsetOrNone.default(-1),
  partitionMaxBytes: ByteCount,
});
export type FetchPartition = z.infer<typeof FetchPartition>;

export const FetchRequest = z
  .object({
    /** -1 for consumers; a follower's broker id otherwise (its fetch offset then counts as its log end offset). */
    replicaId: z.number().int().min(-1).max(nodesMax - 1),
    /** Long-poll: the broker holds the request up to this long while fewer than minBytes are available. */
    maxWaitMs: z.number().int().min(0).max(dataFetchWaitMsMax),
    minBytes: ByteCount,
    maxBytes: ByteCount,
    topics: requestTopics(FetchPartition, 0),
  })
  .refine(partitionsBounded, tooManyPartitions);
export type FetchRequest = z.infer<typeof FetchRequest>;

export const DivergingEpoch = z.object({ epoch: EpochOrNone, endOffset: OffsetOrNone });
export type DivergingEpoch = z.infer<typeof DivergingEpoch>;

export const FetchPartitionResponse = z.object({
  partitionId: PartitionId,
  error: ItemError,
  highWatermark: OffsetOrNone,
  /** Without transactions the last stable offset is the high watermark. */
  lastStableOffset: OffsetOrNone,
  logStartOffset: OffsetOrNone,
  /** Set when the fetcher's log diverges from the leader's: truncate to endOffset (of that epoch) and fetch again. */
  divergingEpoch: DivergingEpoch.optional(),
  /** The leader as the answering broker knows it, on NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH (KIP-951). */
  currentLeader: z.object({ leaderId: z.number().int().min(-1), leaderEpoch: EpochOrNone }).optional(),
  /** Whole stored batches, as written (possibly an empty byte string). */
  records: Bytes,
});
export type FetchPartitionResponse = z.infer<typeof FetchPartitionResponse>;

export const FetchResponse = z.object({
  topics: z.array(z.object({ name: z.string(), topicId: TopicId.optional(), partitions: z.array(FetchPartitionResponse) })),
});
export type FetchResponse = z.infer<typeof FetchResponse>;

// ------------------------------------------------------------------------------------------ list offsets

/** ListOffsets timestamps with a meaning of their own (Kafka's): the log start, and the high watermark. */
export const earliestTimestamp = -2;
export const latestTimestamp = -1;

export const ListOffsetsRequest = z
  .object({
    replicaId: z.number().int().min(-1).max(nodesMax - 1).default(-1),
    topics: requestTopics(
      z.object({
        partitionId: PartitionId,
        currentLeaderEpoch: EpochOrNone.default(-1),
        /** -2 earliest, -1 latest (the high watermark), otherwise the first offset whose timestamp is >= it. */
        timestamp: z.number().int().min(-2).max(Number.MAX_SAFE_INTEGER),
      }),
      1,
    ),
  })
  .refine(partitionsBounded, tooManyPartitions);
export type ListOffsetsRequest = z.infer<typeof ListOffsetsRequest>;

export const ListOffsetsPartitionResponse = z.object({
  partitionId: PartitionId,
  error: ItemError,
  /** The found record's timestamp for a time query, else -1. */
  timestamp: Timestamp,
  /** -1 when no record has a timestamp >= the one asked. */
  offset: OffsetOrNone,
  leaderEpoch: EpochOrNone,
});
export type ListOffsetsPartitionResponse = z.infer<typeof ListOffsetsPartitionResponse>;

export const ListOffsetsResponse = z.object({
  topics: responseTopics(ListOffsetsPartitionResponse),
});
export type ListOffsetsResponse = z.infer<typeof ListOffsetsResponse>;

// ------------------------------------------------------------------------------------------ idempotent producers

/**
 * InitProducerId without transactions: any broker hands out a fresh producer id (from its block allocated by the
 * controller) with epoch 0. With the producer's current id and epoch (KIP-360) it bumps the epoch instead: the same id
 * with epoch + 1, so the producer restarts its sequences at 0 without a new id (a fresh id once the epoch is exhausted).
 */
export const InitProducerIdRequest = z
  .object({
    producerId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    producerEpoch: z.number().int().min(0).max(32_767).optional(),
  })
  .refine((r) => (r.producerId === undefined) === (r.producerEpoch === undefined), { message: 'producerId and producerEpoch go together', path: ['producerEpoch'] });
export type InitProducerIdRequest = z.infer<typeof InitProducerIdRequest>;

export const InitProducerIdResponse = z.object({
  producerId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  producerEpoch: z.number().int().min(0).max(32_767),
});
export type InitProducerIdResponse = z.infer<typeof InitProducerIdResponse>;

// ------------------------------------------------------------------------------------------ client metadata

/** Kafka's Metadata: everything a client needs to route produce and fetch, answered by any broker from its image. */
export const MetadataRequest = z.object({
  /** null: every topic. */
  topics: z.array(TopicName).max(topicsPerRequestMax).nullable(),
});
export type MetadataRequest = z.infer<typeof MetadataRequest>;

export const MetadataBroker = z.object({
  brokerId: BrokerId,
  host: z.string(),
  port: z.number().int().min(0).max(65_535),
  rack: z.string().nullable(),
});
export type MetadataBroker = z.infer<typeof MetadataBroker>;

export const MetadataPartition = z.object({
  partitionId: PartitionId,
  /** LEADER_NOT_AVAILABLE while the partition has no leader; null otherwise. */
  error: ItemError,
  /** -1 while offline. */
  leader: z.number().int().min(-1),
  leaderEpoch: Epoch,
  replicas: ReplicaList,
  isr: ReplicaList,
  /** Replicas on brokers that are fenced or not registered. */
  offlineReplicas: ReplicaList,
});
export type MetadataPartition = z.infer<typeof MetadataPartition>;

export const MetadataResponse = z.object({
  clusterId: z.string(),
  /** The active controller as the answering node knows it, or null. */
  controllerId: z.number().int().min(0).nullable(),
  /** The metadata offset the answer was computed at (a client keeps the freshest answer it has seen). */
  metadataOffset: z.number().int().min(-1),
  /** Unfenced brokers and their data endpoint. */
  brokers: z.array(MetadataBroker),
  topics: z.array(z.object({ name: z.string(), topicId: TopicId.nullable(), error: ItemError, partitions: z.array(MetadataPartition) })),
});
export type MetadataResponse = z.infer<typeof MetadataResponse>;

export const dataApis = {
  'data.produce': { request: ProduceRequest, response: ProduceResponse },
  'data.fetch': { request: FetchRequest, response: FetchResponse },
  'data.list-offsets': { request: ListOffsetsRequest, response: ListOffsetsResponse },
  'data.init-producer-id': { request: InitProducerIdRequest, response: InitProducerIdResponse },
  'data.metadata': { request: MetadataRequest, response: MetadataResponse },
} as const;
export type DataApis = typeof dataApis;
export type DataApi = keyof DataApis;
