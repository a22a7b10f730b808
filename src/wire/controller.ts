// The `controller.*` family (KIP-631 broker lifecycle, KIP-500 admin writes, KIP-595 DescribeQuorum): one zod schema
// per request and response, the inferred type under the same name, and `controllerApis` for the wire registry.
// Invariant: every list a frame may carry is bounded by src/limits.ts, so a hostile frame is refused at the edge.
// A whole-request failure (NOT_CONTROLLER, STALE_BROKER_EPOCH, ...) travels as the envelope's error; per-item
// failures (one topic of many) are `error` fields inside the body, as in Kafka's responses.
import { z } from 'zod';
import {
  configsPerResourceMax,
  configValueBytesMax,
  nodesMax,
  partitionsPerTopicMax,
  raftVotersMax,
  replicationFactorMax,
  topicsPerRequestMax,
} from '../limits.js';
import type { RequestIn, ResponseOut } from './api.js';
import { WireErrorSchema } from './envelope.js';

const BrokerId = z.number().int().min(0).max(nodesMax - 1);
const NodeId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Epoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A metadata log offset; -1 means "nothing replayed yet". */
const MetadataOffset = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const TopicName = z.string().min(1).max(249);
const TopicId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a topic id is 22 base64url characters');
const PartitionId = z.number().int().min(0).max(partitionsPerTopicMax - 1);
const ReplicaList = z.array(BrokerId).max(replicationFactorMax);
/** A per-item error inside a response body; null for success. */
const ItemError = WireErrorSchema.nullable();

export const Endpoint = z.object({ name: z.string().min(1).max(64), host: z.string().min(1).max(255), port: z.number().int().min(0).max(65_535) });
export type Endpoint = z.infer<typeof Endpoint>;

// ------------------------------------------------------------------------------------------ broker lifecycle

export const RegisterBrokerRequest = z.object({
  brokerId: BrokerId,
  /** A fresh id per process start: tells a restart from a duplicate broker id. */
  incarnationId: z.string().min(1).max(64),
  rack: z.string().min(1).max(64).nullable(),
  endpoints: z.array(Endpoint).max(16),
  /** The epoch of this broker's previous registration if it shut down cleanly, else -1 (KIP-966 unclean shutdown). */
  previousBrokerEpoch: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER),
  clusterId: z.string().min(1).max(64),
});
export type RegisterBrokerRequest = z.infer<typeof RegisterBrokerRequest>;

export const RegisterBrokerResponse = z.object({ brokerEpoch: Epoch });
export type RegisterBrokerResponse = z.infer<typeof RegisterBrokerResponse>;

export const BrokerHeartbeatRequest = z.object({
  brokerId: BrokerId,
  brokerEpoch: Epoch,
  /** The highest metadata offset the broker has replayed into its own image. */
  currentMetadataOffset: MetadataOffset,
  wantFence: z.boolean(),
  wantShutDown: z.boolean(),
});
export type BrokerHeartbeatRequest = z.infer<typeof BrokerHeartbeatRequest>;

export const BrokerHeartbeatResponse = z.object({
  isCaughtUp: z.boolean(),
  isFenced: z.boolean(),
  shouldShutDown: z.boolean(),
  /** The metadata offset the answer was computed at: the broker is up to date once it has replayed this far. */
  metadataOffset: MetadataOffset,
});
export type BrokerHeartbeatResponse = z.infer<typeof BrokerHeartbeatResponse>;

export const ControlledShutdownRequest = z.object({ brokerId: BrokerId, brokerEpoch: Epoch, currentMetadataOffset: MetadataOffset });
export type ControlledShutdownRequest = z.infer<typeof ControlledShutdownRequest>;
export const ControlledShutdownResponse = BrokerHeartbeatResponse;
export type ControlledShutdownResponse = z.infer<typeof ControlledShutdownResponse>;

// ------------------------------------------------------------------------------------------ topics

const Configs = z
  .record(z.string().min(1).max(255), z.string().max(configValueBytesMax))
  .refine((c) => Object.keys(c).length <= configsPerResourceMax, `at most ${configsPerResourceMax} configs`);

// Names, counts and factors are only bounded here; the controller judges them, so a bad one gets its precise code
// (INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR) rather than a generic INVALID_REQUEST.
export const CreatableTopic = z.object({
  name: z.string().max(1024),
  /** -1: the cluster's num.partitions. */
  numPartitions: z.number().int().min(-1_000_000).max(1_000_000),
  /** -1: the cluster's default.replication.factor. */
  replicationFactor: z.number().int().min(-1_000).max(1_000),
  /** Manual placement: replicas per partition (numPartitions and replicationFactor are then -1). */
  assignments: z.array(ReplicaList.min(1)).max(partitionsPerTopicMax).optional(),
  configs: Configs.default({}),
});
export type CreatableTopic = z.infer<typeof CreatableTopic>;

export const CreateTopicsRequest = z.object({
  topics: z.array(CreatableTopic).min(1).max(topicsPerRequestMax),
  validateOnly: z.boolean().default(false),
});
export type CreateTopicsRequest = z.infer<typeof CreateTopicsRequest>;

export const CreateTopicsResponse = z.object({
  topics: z.array(z.object({
    name: z.string(),
    error: ItemError,
    topicId: TopicId.optional(),
    numPartitions: z.number().int().optional(),
    replicationFactor: z.number().int().optional(),
  })),
});
export type CreateTopicsResponse = z.infer<typeof CreateTopicsResponse>;

export const DeleteTopicsRequest = z.object({
  topics: z.array(z.union([z.object({ name: TopicName }), z.object({ topicId: TopicId })])).min(1).max(topicsPerRequestMax),
});
export type DeleteTopicsRequest = z.infer<typeof DeleteTopicsRequest>;

export const DeleteTopicsResponse = z.object({
  topics: z.array(z.object({ name: z.string().nullable(), topicId: TopicId.nullable(), error: ItemError })),
});
export type DeleteTopicsResponse = z.infer<typeof DeleteTopicsResponse>;

export const CreatePartitionsRequest = z.object({
  topics: z.array(z.object({
    name: TopicName,
    /** The new total number of partitions. */
    count: z.number().int().min(1).max(partitionsPerTopicMax),
    assignments: z.array(ReplicaList.min(1)).max(partitionsPerTopicMax).optional(),
  })).min(1).max(topicsPerRequestMax),
  validateOnly: z.boolean().default(false),
});
export type CreatePartitionsRequest = z.infer<typeof CreatePartitionsRequest>;

export const CreatePartitionsResponse = z.object({ topics: z.array(z.object({ name: z.string(), error: ItemError })) });
export type CreatePartitionsResponse = z.infer<typeof CreatePartitionsResponse>;

// ------------------------------------------------------------------------------------------ configs

const ConfigResourceType = z.enum(['cluster', 'broker', 'topic']);
const ConfigResource = z.object({ type: ConfigResourceType, name: z.string().max(249) });

export const DescribeConfigsRequest = z.object({ resources: z.array(ConfigResource).min(1).max(topicsPerRequestMax) });
export type DescribeConfigsRequest = z.infer<typeof DescribeConfigsRequest>;

export const DescribeConfigsResponse = z.object({
  resources: z.array(z.object({
    type: ConfigResourceType,
    name: z.string(),
    error: ItemError,
    configs: z.array(z.object({ name: z.string(), value: z.string(), source: z.enum(['topic', 'broker', 'cluster', 'static', 'default']) })),
  })),
});
export type DescribeConfigsResponse = z.infer<typeof DescribeConfigsResponse>;

/** IncrementalAlterConfigs (KIP-339): set, delete, append to or subtract from one key at a time. */
export const AlterConfigsRequest = z.object({
  resources: z.array(ConfigResource.extend({
    ops: z.array(z.object({
      key: z.string().min(1).max(255),
      op: z.enum(['set', 'delete', 'append', 'subtract']),
      value: z.string().max(configValueBytesMax).optional(),
    })).max(configsPerResourceMax),
  })).min(1).max(topicsPerRequestMax),
  validateOnly: z.boolean().default(false),
});
export type AlterConfigsRequest = z.infer<typeof AlterConfigsRequest>;

export const AlterConfigsResponse = z.object({ resources: z.array(z.object({ type: ConfigResourceType, name: z.string(), error: ItemError })) });
export type AlterConfigsResponse = z.infer<typeof AlterConfigsResponse>;

// ------------------------------------------------------------------------------------------ describe

export const DescribeClusterRequest = z.object({ includeFenced: z.boolean().default(false) });
export type DescribeClusterRequest = z.infer<typeof DescribeClusterRequest>;

export const DescribeClusterResponse = z.object({
  clusterId: z.string(),
  /** The active controller as this node knows it (the Raft leader), or null while there is none. */
  controllerId: NodeId.nullable(),
  /** The node that answered, and the metadata offset its image is at. */
  nodeId: NodeId,
  metadataOffset: MetadataOffset,
  brokers: z.array(z.object({
    brokerId: BrokerId,
    rack: z.string().nullable(),
    endpoints: z.array(Endpoint),
    fenced: z.boolean(),
    inControlledShutdown: z.boolean(),
  })),
});
export type DescribeClusterResponse = z.infer<typeof DescribeClusterResponse>;

export const DescribeTopicsRequest = z.object({
  /** null: every topic. */
  topics: z.array(TopicName).max(topicsPerRequestMax).nullable(),
});
export type DescribeTopicsRequest = z.infer<typeof DescribeTopicsRequest>;

export const DescribedPartition = z.object({
  partitionId: PartitionId,
  /** -1 while offline. */
  leader: z.number().int().min(-1),
  leaderEpoch: Epoch,
  partitionEpoch: Epoch,
  replicas: ReplicaList,
  isr: ReplicaList,
  elr: ReplicaList,
  lastKnownElr: ReplicaList,
  /** The leader's high watermark, when a broker answered and could ask the leader (absent otherwise). */
  highWatermark: z.number().int().min(0).optional(),
});
export type DescribedPartition = z.infer<typeof DescribedPartition>;

export const DescribeTopicsResponse = z.object({
  metadataOffset: MetadataOffset,
  topics: z.array(z.object({
    name: z.string(),
    topicId: TopicId.nullable(),
    error: ItemError,
    configs: z.record(z.string(), z.string()),
    partitions: z.array(DescribedPartition),
  })),
});
export type DescribeTopicsResponse = z.infer<typeof DescribeTopicsResponse>;

// ------------------------------------------------------------------------------------------ partition leaders

/** AlterPartition (KIP-497): a partition leader reports a new ISR, fenced by its leader and partition epochs. */
export const AlterPartitionRequest = z.object({
  brokerId: BrokerId,
  brokerEpoch: Epoch,
  topicId: TopicId,
  partitionId: PartitionId,
  leaderEpoch: Epoch,
  partitionEpoch: Epoch,
  newIsr: ReplicaList.min(1),
});
export type AlterPartitionRequest = z.infer<typeof AlterPartitionRequest>;

export const AlterPartitionResponse = z.object({
  leader: z.number().int().min(-1),
  leaderEpoch: Epoch,
  partitionEpoch: Epoch,
  isr: ReplicaList,
  elr: ReplicaList,
});
export type AlterPartitionResponse = z.infer<typeof AlterPartitionResponse>;

export const AllocateProducerIdsRequest = z.object({ brokerId: BrokerId, brokerEpoch: Epoch });
export type AllocateProducerIdsRequest = z.infer<typeof AllocateProducerIdsRequest>;
export const AllocateProducerIdsResponse = z.object({ firstProducerId: z.number().int().min(0), count: z.number().int().min(1) });
export type AllocateProducerIdsResponse = z.infer<typeof AllocateProducerIdsResponse>;

export const ElectLeadersRequest = z.object({
  electionType: z.enum(['preferred', 'unclean']),
  /** null: every partition. */
  partitions: z.array(z.object({ topic: TopicName, partitionId: PartitionId })).max(partitionsPerTopicMax).nullable(),
});
export type ElectLeadersRequest = z.infer<typeof ElectLeadersRequest>;

export const ElectLeadersResponse = z.object({ partitions: z.array(z.object({ topic: z.string(), partitionId: z.number().int(), error: ItemError })) });
export type ElectLeadersResponse = z.infer<typeof ElectLeadersResponse>;

// ------------------------------------------------------------------------------------------ metadata quorum

export const DescribeQuorumRequest = z.object({});
export type DescribeQuorumRequest = z.infer<typeof DescribeQuorumRequest>;

export const QuorumReplica = z.object({
  nodeId: NodeId,
  /** The replica's log end offset as the leader last saw it (-1: it has not fetched in this epoch). */
  logEndOffset: z.number().int().min(-1),
  /** Entries behind the leader's log end (null when unknown). */
  lag: z.number().int().min(0).nullable(),
  /** Milliseconds since it last fetched (null: not in this epoch). */
  lastFetchAgoMs: z.number().min(0).nullable(),
});
export type QuorumReplica = z.infer<typeof QuorumReplica>;

/** DescribeQuorum (KIP-595), answered by the leader: the quorum's epoch, high watermark and every replica's progress. */
export const DescribeQuorumResponse = z.object({
  leaderId: NodeId,
  leaderEpoch: Epoch,
  highWatermark: z.number().int().min(0),
  logEndOffset: z.number().int().min(0),
  voters: z.array(QuorumReplica).max(raftVotersMax),
  observers: z.array(QuorumReplica).max(nodesMax),
});
export type DescribeQuorumResponse = z.infer<typeof DescribeQuorumResponse>;

export const controllerApis = {
  'controller.register-broker': { request: RegisterBrokerRequest, response: RegisterBrokerResponse },
  'controller.broker-heartbeat': { request: BrokerHeartbeatRequest, response: BrokerHeartbeatResponse },
  'controller.controlled-shutdown': { request: ControlledShutdownRequest, response: ControlledShutdownResponse },
  'controller.create-topics': { request: CreateTopicsRequest, response: CreateTopicsResponse },
  'controller.delete-topics': { request: DeleteTopicsRequest, response: DeleteTopicsResponse },
  'controller.create-partitions': { request: CreatePartitionsRequest, response: CreatePartitionsResponse },
  'controller.describe-configs': { request: DescribeConfigsRequest, response: DescribeConfigsResponse },
  'controller.alter-configs': { request: AlterConfigsRequest, response: AlterConfigsResponse },
  'controller.describe-cluster': { request: DescribeClusterRequest, response: DescribeClusterResponse },
  'controller.describe-topics': { request: DescribeTopicsRequest, response: DescribeTopicsResponse },
  'controller.alter-partition': { request: AlterPartitionRequest, response: AlterPartitionResponse },
  'controller.allocate-producer-ids': { request: AllocateProducerIdsRequest, response: AllocateProducerIdsResponse },
  'controller.elect-leaders': { request: ElectLeadersRequest, response: ElectLeadersResponse },
  'controller.describe-quorum': { request: DescribeQuorumRequest, response: DescribeQuorumResponse },
} as const;
export type ControllerApis = typeof controllerApis;
export type ControllerApi = keyof ControllerApis;

/**
 * Sends one controller-family request to node `nodeId` and resolves with its validated response, or rejects with a
 * RaftlineError (the server's code, REQUEST_TIMED_OUT, NETWORK_EXCEPTION). Brokers use it to reach the controller
 * (lifecycle, forwarding); `createRpcControllerChannel` (src/broker/controller-channel.ts) is the real one.
 */
export type ControllerChannel = <K extends ControllerApi>(
  nodeId: number,
  api: K,
  body: RequestIn<ControllerApis, K>,
  timeoutMs: number,
) => Promise<ResponseOut<ControllerApis, K>>;
