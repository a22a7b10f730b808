// The metadata image as plain data for Raft snapshots (KIP-630) and for the visualizer: toSnapshot/fromSnapshot
// round-trip exactly, and fromSnapshot validates the shape with zod and every invariant with checkImage, so a
// corrupt snapshot is refused instead of becoming a controller's state.
import { z } from 'zod';
import { checkImage, type MetadataImage, type TopicImage } from './image.js';
import { invariant } from './invariant.js';
import { Endpoint, TopicId } from './records.js';

const ids = z.array(z.number().int().min(0));

export const MetadataSnapshot = z.object({
  version: z.literal(0),
  offset: z.number().int().min(-1),
  brokers: z.array(z.object({
    brokerId: z.number().int().min(0),
    incarnationId: z.string().min(1),
    brokerEpoch: z.number().int().min(0),
    rack: z.string().min(1).nullable(),
    endpoints: z.array(Endpoint),
    fenced: z.boolean(),
    inControlledShutdown: z.boolean(),
  })),
  topics: z.array(z.object({
    name: z.string().min(1),
    topicId: TopicId,
    partitions: z.array(z.object({
      replicas: ids.min(1),
      isr: ids,
      elr: ids,
      lastKnownElr: ids,
      leader: z.number().int().min(-1),
      leaderEpoch: z.number().int().min(0),
      partitionEpoch: z.number().int().min(0),
    })).min(1),
  })),
  configs: z.array(z.object({ resource: z.string(), entries: z.array(z.tuple([z.string(), z.string()])) })),
  features: z.array(z.tuple([z.string(), z.number().int().min(1)])),
  nextProducerId: z.number().int().min(0),
});
export type MetadataSnapshot = z.infer<typeof MetadataSnapshot>;

/** The image as plain, deterministic data (sorted by broker id, topic name, config key). */
export function toSnapshot(image: MetadataImage): MetadataSnapshot {
  const byKey = <V>(m: ReadonlyMap<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    version: 0,
    offset: image.offset,
    brokers: [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId).map((b) => ({ ...b, endpoints: b.endpoints.map((e) => ({ ...e })) })),
    topics: byKey(image.topicsByName).map(([, t]) => ({
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({ ...p, replicas: [...p.replicas], isr: [...p.isr], elr: [...p.elr], lastKnownElr: [...p.lastKnownElr] })),
    })),
    configs: byKey(image.configs).map(([resource, entries]) => ({ resource, entries: byKey(entries) })),
    features: byKey(image.features),
    nextProducerId: image.nextProducerId,
  };
}

/** Rebuilds an image from a snapshot; throws a ZodError on a bad shape and ControllerInvariantError on bad state. */
export function fromSnapshot(data: unknown): MetadataImage {
  const s = MetadataSnapshot.parse(data);
  const topics: TopicImage[] = s.topics.map((t) => Object.freeze({ name: t.name, topicId: t.topicId, partitions: Object.freeze(t.partitions.map((p) => Object.freeze(p))) }));
  const configKeys = s.configs.map((c) => c.resource);
  invariant(configKeys.every((k) => /^(cluster|broker|topic):/.test(k)), 'snapshot names an unknown config resource type');
  invariant(new Set(configKeys).size === configKeys.length, 'snapshot lists a config resource twice');
  invariant(new Set(s.brokers.map((b) => b.brokerId)).size === s.brokers.length, 'snapshot lists a broker twice');
  invariant(s.offset >= -1 && s.brokers.every((b) => b.brokerEpoch <= s.offset), 'snapshot broker epochs beyond its offset');
  const image: MetadataImage = Object.freeze({
    offset: s.offset,
    brokers: new Map(s.brokers.map((b) => [b.brokerId, Object.freeze(b)])),
    topicsByName: new Map(topics.map((t) => [t.name, t])),
    topicsById: new Map(topics.map((t) => [t.topicId, t])),
    configs: new Map(s.configs.map((c) => [c.resource, new Map(c.entries)])),
    features: new Map(s.features),
    nextProducerId: s.nextProducerId,
  });
  checkImage(image);
  return image;
}
