// The metadata records of the KRaft log (KIP-500, KIP-631, KIP-966): one zod schema per record, a discriminated
// union on `type`, each with a `version`. Records are facts already validated by the active controller; replaying
// them (image.ts) must never need to consult anything but the image and the record's offset.
import { z } from 'zod';
import type { Random } from '../runtime/random.js';

const brokerId = z.number().int().min(0);
const epoch = z.number().int().min(0);
const replicaList = z.array(brokerId);

/** A 22-character base64url topic id (a 128-bit UUID without padding), as Kafka prints them. */
export const TopicId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a topic id is 22 base64url characters');
export type TopicId = z.infer<typeof TopicId>;

export const Endpoint = z.object({
  name: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** A broker (re-)registered; its epoch is the offset of this record (KIP-631), and it starts fenced. */
export const RegisterBrokerRecord = z.object({
  type: z.literal('register-broker'),
  version: z.literal(0),
  brokerId,
  incarnationId: z.string().min(1),
  brokerEpoch: epoch,
  rack: z.string().min(1).nullable(),
  endpoints: z.array(Endpoint),
});
export type RegisterBrokerRecord = z.infer<typeof RegisterBrokerRecord>;

/** The broker's session timed out (or it finished controlled shutdown): it may not lead or join an ISR. */
export const FenceBrokerRecord = z.object({
  type: z.literal('fence-broker'),
  version: z.literal(0),
  brokerId,
  brokerEpoch: epoch,
});
export type FenceBrokerRecord = z.infer<typeof FenceBrokerRecord>;

/** The broker caught up with the metadata log and may serve again. */
export const UnfenceBrokerRecord = z.object({
  type: z.literal('unfence-broker'),
  version: z.literal(0),
  brokerId,
  brokerEpoch: epoch,
});
export type UnfenceBrokerRecord = z.infer<typeof UnfenceBrokerRecord>;

/** A change to a live registration; today only the controlled-shutdown flag. */
export const BrokerRegistrationChangeRecord = z.object({
  type: z.literal('broker-registration-change'),
  version: z.literal(0),
  brokerId,
  brokerEpoch: epoch,
  inControlledShutdown: z.boolean(),
});
export type BrokerRegistrationChangeRecord = z.infer<typeof BrokerRegistrationChangeRecord>;

export const TopicRecord = z.object({
  type: z.literal('topic'),
  version: z.literal(0),
  name: z.string().min(1),
  topicId: TopicId,
});
export type TopicRecord = z.infer<typeof TopicRecord>;

/** A new partition with its full state; partitions of a topic are created in order 0, 1, 2, ... */
export const PartitionRecord = z.object({
  type: z.literal('partition'),
  version: z.literal(0),
  topicId: TopicId,
  partitionId: z.number().int().min(0),
  replicas: replicaList.min(1),
  isr: replicaList,
  elr: replicaList,
  lastKnownElr: replicaList,
  leader: z.number().int().min(-1),
  leaderEpoch: epoch,
  partitionEpoch: epoch,
});
export type PartitionRecord = z.infer<typeof PartitionRecord>;

/**
 * A change to a partition. Absent fields are unchanged. Every change bumps the partition epoch by one; a change
 * carrying `leader` is an election and bumps the leader epoch by one. `unclean` marks a leader chosen outside the
 * ISR and ELR (unclean.leader.election.enable): that leader may lack committed records.
 */
export const PartitionChangeRecord = z.object({
  type: z.literal('partition-change'),
  version: z.literal(0),
  topicId: TopicId,
  partitionId: z.number().int().min(0),
  leader: z.number().int().min(-1).optional(),
  isr: replicaList.optional(),
  elr: replicaList.optional(),
  lastKnownElr: replicaList.optional(),
  unclean: z.boolean(),
});
export type PartitionChangeRecord = z.infer<typeof PartitionChangeRecord>;

export const RemoveTopicRecord = z.object({
  type: z.literal('remove-topic'),
  version: z.literal(0),
  topicId: TopicId,
});
export type RemoveTopicRecord = z.infer<typeof RemoveTopicRecord>;

export const ConfigResourceType = z.enum(['cluster', 'broker', 'topic']);
export type ConfigResourceType = z.infer<typeof ConfigResourceType>;

/** Sets (value) or removes (null) one dynamic config key of a resource. The cluster resource's name is ''. */
export const ConfigRecord = z.object({
  type: z.literal('config'),
  version: z.literal(0),
  resourceType: ConfigResourceType,
  resourceName: z.string(),
  name: z.string().min(1),
  value: z.string().nullable(),
});
export type ConfigRecord = z.infer<typeof ConfigRecord>;

export const FeatureLevelRecord = z.object({
  type: z.literal('feature-level'),
  version: z.literal(0),
  name: z.string().min(1),
  level: z.number().int().min(0),
});
export type FeatureLevelRecord = z.infer<typeof FeatureLevelRecord>;

/** A block of producer ids handed to a broker: the cluster's next free id becomes `nextProducerId`. */
export const ProducerIdsRecord = z.object({
  type: z.literal('producer-ids'),
  version: z.literal(0),
  brokerId,
  brokerEpoch: epoch,
  nextProducerId: z.number().int().min(0),
});
export type ProducerIdsRecord = z.infer<typeof ProducerIdsRecord>;

export const MetadataRecord = z.discriminatedUnion('type', [
  RegisterBrokerRecord,
  FenceBrokerRecord,
  UnfenceBrokerRecord,
  BrokerRegistrationChangeRecord,
  TopicRecord,
  PartitionRecord,
  PartitionChangeRecord,
  RemoveTopicRecord,
  ConfigRecord,
  FeatureLevelRecord,
  ProducerIdsRecord,
]);
export type MetadataRecord = z.infer<typeof MetadataRecord>;
export type MetadataRecordType = MetadataRecord['type'];

/** The feature that turns on eligible leader replicas (KIP-966), as Kafka names it. */
export const elrFeatureName = 'eligible.leader.replicas.version';

/**
 * A fresh topic id: 16 random bytes from the Random port, formatted as an RFC 4122 version-4 UUID and printed as
 * 22 base64url characters. The version bits make it never the all-zero id, which is Kafka's "no topic id".
 */
export function newTopicId(random: Random): TopicId {
  const bytes = Uint8Array.from(random.bytes(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return Buffer.from(bytes).toString('base64url');
}
