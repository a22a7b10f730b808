// The metadata image: the immutable state that replaying the metadata log up to some offset yields, and the
// MetadataDelta that replays records onto it. Replay asserts every invariant it can check locally (leader ∈ ISR or
// -1, ISR ⊆ replicas, ISR ∩ ELR = ∅, epochs only grow, a broker epoch is its registration offset); checkImage
// asserts the whole-image ones (a leader is a registered, unfenced broker; the name and id indexes agree).
import { elrFeatureName, type ConfigResourceType, type Endpoint, type MetadataRecord, type TopicId } from './records.js';
import { invariant, isDisjoint, isDistinct, isSubset } from './invariant.js';

export interface BrokerRegistration {
  readonly brokerId: number;
  readonly incarnationId: string;
  /** The offset of the broker's latest registration record (KIP-631). */
  readonly brokerEpoch: number;
  readonly rack: string | null;
  readonly endpoints: readonly Endpoint[];
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface PartitionImage {
  /** The assigned replicas; the first is the preferred leader. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Eligible leader replicas (KIP-966): out of the ISR, yet known to hold every committed record. */
  readonly elr: readonly number[];
  /** ELR members that lost that guarantee (unclean shutdown); the best guesses for an unclean election. */
  readonly lastKnownElr: readonly number[];
  /** The leader's broker id, or -1 when the partition is offline. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: TopicId;
  /** Indexed by partition id: partition i is `partitions[i]`. */
  readonly partitions: readonly PartitionImage[];
}

export interface MetadataImage {
  /** Offset of the last record replayed, -1 for the empty image. */
  readonly offset: number;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<TopicId, TopicImage>;
  /** Dynamic configs by `configResourceKey(type, name)`, then key → value. */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Finalized feature levels; a feature at level 0 is absent. */
  readonly features: ReadonlyMap<string, number>;
  /** The first producer id not yet handed out. */
  readonly nextProducerId: number;
}

export const emptyImage: MetadataImage = Object.freeze({
  offset: -1,
  brokers: new Map(),
  topicsByName: new Map(),
  topicsById: new Map(),
  configs: new Map(),
  features: new Map(),
  nextProducerId: 0,
});

export function configResourceKey(type: ConfigResourceType, name: string): string {
  return `${type}:${name}`;
}

/** Whether eligible leader replicas (KIP-966) are on: the feature is finalized at level 1 or above. */
export function isElrEnabled(image: MetadataImage): boolean {
  return (image.features.get(elrFeatureName) ?? 0) >= 1;
}

/** A broker may lead and join ISRs: registered, unfenced and not shutting down. */
export function isBrokerActive(image: MetadataImage, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

/** Brokers that are registered and unfenced (those in controlled shutdown included), sorted by id. */
export function unfencedBrokers(image: MetadataImage): BrokerRegistration[] {
  return [...image.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId);
}

/** Asserts the invariants of one partition's state. */
export function checkPartition(p: PartitionImage, where: string): void {
  invariant(p.replicas.length > 0, `${where}: no replicas`);
  invariant(isDistinct(p.replicas), () => `${where}: a broker holds two replicas ${JSON.stringify(p.replicas)}`);
  invariant(isDistinct(p.isr) && isSubset(p.isr, p.replicas), () => `${where}: ISR ${JSON.stringify(p.isr)} not a set of replicas ${JSON.stringify(p.replicas)}`);
  invariant(isDistinct(p.elr) && isSubset(p.elr, p.replicas), () => `${where}: ELR ${JSON.stringify(p.elr)} not a set of replicas`);
  invariant(isDistinct(p.lastKnownElr) && isSubset(p.lastKnownElr, p.replicas), () => `${where}: last known ELR not a set of replicas`);
  invariant(isDisjoint(p.isr, p.elr), () => `${where}: ISR ${JSON.stringify(p.isr)} and ELR ${JSON.stringify(p.elr)} overlap`);
  invariant(isDisjoint(p.elr, p.lastKnownElr), () => `${where}: ELR and last known ELR overlap`);
  invariant(p.leader === -1 || p.isr.includes(p.leader), () => `${where}: leader ${p.leader} not in ISR ${JSON.stringify(p.isr)}`);
  invariant(Number.isSafeInteger(p.leaderEpoch) && p.leaderEpoch >= 0, `${where}: bad leader epoch`);
  invariant(Number.isSafeInteger(p.partitionEpoch) && p.partitionEpoch >= 0, `${where}: bad partition epoch`);
}

/** Asserts the whole-image invariants; O(size), meant for tests and for after each committed command batch. */
export function checkImage(image: MetadataImage): void {
  invariant(image.topicsByName.size === image.topicsById.size, 'topic name and id indexes differ in size');
  for (const [id, topic] of image.topicsById) {
    invariant(topic.topicId === id && image.topicsByName.get(topic.name) === topic, () => `topic ${topic.name} indexed inconsistently`);
    invariant(topic.partitions.length > 0, () => `topic ${topic.name} has no partitions`);
    topic.partitions.forEach((p, i) => {
      const where = `${topic.name}-${i}`;
      checkPartition(p, where);
      if (p.leader !== -1) {
        const leader = image.brokers.get(p.leader);
        invariant(leader !== undefined && !leader.fenced, () => `${where}: leader ${p.leader} is not a registered unfenced broker`);
      }
    });
  }
  for (const [id, b] of image.brokers) {
    invariant(b.brokerId === id && b.brokerEpoch <= image.offset, () => `broker ${id} registration inconsistent`);
  }
  for (const [key] of image.configs) {
    if (key.startsWith('topic:')) invariant(image.topicsByName.has(key.slice('topic:'.length)), () => `configs of a missing topic ${key}`);
  }
}

function freezePartition(p: PartitionImage): PartitionImage {
  return Object.freeze({
    ...p,
    replicas: Object.freeze([...p.replicas]),
    isr: Object.freeze([...p.isr]),
    elr: Object.freeze([...p.elr]),
    lastKnownElr: Object.freeze([...p.lastKnownElr]),
  });
}

interface MutableTopic {
  name: string;
  topicId: TopicId;
  partitions: PartitionImage[];
}

/**
 * Replays records onto an image, copying each map or topic only on its first change, so a batch of many partition
 * records costs O(batch + touched topics) rather than a copy per record. `apply()` returns the new image; the base
 * image is never modified.
 */
export class MetadataDelta {
  private offset: number;
  private brokers: Map<number, BrokerRegistration> | undefined;
  private topicsById: Map<TopicId, TopicImage> | undefined;
  private topicsByName: Map<string, TopicImage> | undefined;
  private readonly changedTopics = new Map<TopicId, MutableTopic>();
  private configs: Map<string, ReadonlyMap<string, string>> | undefined;
  private features: Map<string, number> | undefined;
  private nextProducerId: number;

  constructor(private readonly base: MetadataImage) {
    this.offset = base.offset;
    this.nextProducerId = base.nextProducerId;
  }

  private get brokerMap(): Map<number, BrokerRegistration> {
    return (this.brokers ??= new Map(this.base.brokers));
  }

  private topicById(topicId: TopicId): TopicImage | MutableTopic | undefined {
    return this.changedTopics.get(topicId) ?? (this.topicsById ?? this.base.topicsById).get(topicId);
  }

  private mutableTopic(topicId: TopicId, what: string): MutableTopic {
    let t = this.changedTopics.get(topicId);
    if (t === undefined) {
      const old = (this.topicsById ?? this.base.topicsById).get(topicId);
      invariant(old !== undefined, () => `${what} names unknown topic id ${topicId}`);
      t = { name: old.name, topicId, partitions: [...old.partitions] };
      this.changedTopics.set(topicId, t);
    }
    return t;
  }

  private registration(brokerId: number, brokerEpoch: number, what: string): BrokerRegistration {
    const b = this.brokerMap.get(brokerId);
    invariant(b !== undefined, () => `${what} for unregistered broker ${brokerId}`);
    invariant(b.brokerEpoch === brokerEpoch, () => `${what} for broker ${brokerId} carries epoch ${brokerEpoch}, registration has ${b.brokerEpoch}`);
    return b;
  }

  /** The offset of the last record replayed (the base image's offset when none was). */
  get lastOffset(): number {
    return this.offset;
  }

  /** A broker's registration as of the records replayed so far. */
  broker(brokerId: number): BrokerRegistration | undefined {
    return (this.brokers ?? this.base.brokers).get(brokerId);
  }

  /** A partition's state as of the records replayed so far. */
  partition(topicId: TopicId, partitionId: number): PartitionImage | undefined {
    return this.topicById(topicId)?.partitions[partitionId];
  }

  /** Replays one record found at `offset` of the metadata log. Offsets must strictly increase. */
  replay(record: MetadataRecord, offset: number): this {
    invariant(Number.isSafeInteger(offset) && offset > this.offset, () => `record offset ${offset} does not follow ${this.offset}`);
    this.offset = offset;
    switch (record.type) {
      case 'register-broker': {
        invariant(record.brokerEpoch === offset, () => `broker ${record.brokerId} registered with epoch ${record.brokerEpoch} at offset ${offset}`);
        this.brokerMap.set(record.brokerId, Object.freeze({
          brokerId: record.brokerId,
          incarnationId: record.incarnationId,
          brokerEpoch: record.brokerEpoch,
          rack: record.rack,
          endpoints: Object.freeze(record.endpoints.map((e) => Object.freeze({ ...e }))),
          fenced: true,
          inControlledShutdown: false,
        }));
        return this;
      }
      case 'fence-broker': {
        const b = this.registration(record.brokerId, record.brokerEpoch, 'fence');
        this.brokerMap.set(b.brokerId, Object.freeze({ ...b, fenced: true, inControlledShutdown: false }));
        return this;
      }
      case 'unfence-broker': {
        const b = this.registration(record.brokerId, record.brokerEpoch, 'unfence');
        invariant(!b.inControlledShutdown, () => `unfence of broker ${b.brokerId} in controlled shutdown`);
        this.brokerMap.set(b.brokerId, Object.freeze({ ...b, fenced: false }));
        return this;
      }
      case 'broker-registration-change': {
        const b = this.registration(record.brokerId, record.brokerEpoch, 'registration change');
        invariant(!record.inControlledShutdown || !b.fenced, () => `controlled shutdown of fenced broker ${b.brokerId}`);
        this.brokerMap.set(b.brokerId, Object.freeze({ ...b, inControlledShutdown: record.inControlledShutdown }));
        return this;
      }
      case 'topic': {
        const byName = (this.topicsByName ??= new Map(this.base.topicsByName));
        invariant(!byName.has(record.name), () => `topic ${record.name} created twice`);
        invariant(this.topicById(record.topicId) === undefined, () => `topic id ${record.topicId} reused`);
        this.changedTopics.set(record.topicId, { name: record.name, topicId: record.topicId, partitions: [] });
        // A placeholder keeps the name taken until apply() builds the final topic object.
        byName.set(record.name, { name: record.name, topicId: record.topicId, partitions: [] });
        return this;
      }
      case 'partition': {
        const t = this.mutableTopic(record.topicId, 'partition record');
        invariant(record.partitionId === t.partitions.length, () => `partition ${record.partitionId} of ${t.name} created out of order (have ${t.partitions.length})`);
        const p: PartitionImage = {
          replicas: record.replicas,
          isr: record.isr,
          elr: record.elr,
          lastKnownElr: record.lastKnownElr,
          leader: record.leader,
          leaderEpoch: record.leaderEpoch,
          partitionEpoch: record.partitionEpoch,
        };
        checkPartition(p, `${t.name}-${record.partitionId}`);
        t.partitions.push(freezePartition(p));
        return this;
      }
      case 'partition-change': {
        const t = this.mutableTopic(record.topicId, 'partition change');
        const old = t.partitions[record.partitionId];
        invariant(old !== undefined, () => `partition change for missing partition ${t.name}-${record.partitionId}`);
        const electing = record.leader !== undefined;
        const p: PartitionImage = {
          replicas: old.replicas,
          isr: record.isr ?? old.isr,
          elr: record.elr ?? old.elr,
          lastKnownElr: record.lastKnownElr ?? old.lastKnownElr,
          leader: record.leader ?? old.leader,
          leaderEpoch: electing ? old.leaderEpoch + 1 : old.leaderEpoch,
          partitionEpoch: old.partitionEpoch + 1,
        };
        const where = `${t.name}-${record.partitionId}`;
        checkPartition(p, where);
        invariant(!record.unclean || (electing && p.leader !== -1 && !old.isr.includes(p.leader) && !old.elr.includes(p.leader)),
          () => `${where}: a change flagged unclean must elect a leader from outside the ISR and ELR`);
        t.partitions[record.partitionId] = freezePartition(p);
        return this;
      }
      case 'remove-topic': {
        const t = this.topicById(record.topicId);
        invariant(t !== undefined, () => `remove of unknown topic id ${record.topicId}`);
        (this.topicsById ??= new Map(this.base.topicsById)).delete(record.topicId);
        (this.topicsByName ??= new Map(this.base.topicsByName)).delete(t.name);
        this.changedTopics.delete(record.topicId);
        (this.configs ??= new Map(this.base.configs)).delete(configResourceKey('topic', t.name));
        return this;
      }
      case 'config': {
        if (record.resourceType === 'topic') {
          const byName = this.topicsByName ?? this.base.topicsByName;
          invariant(byName.has(record.resourceName), () => `config for missing topic ${record.resourceName}`);
        }
        if (record.resourceType === 'cluster') invariant(record.resourceName === '', 'the cluster config resource is named ""');
        const configs = (this.configs ??= new Map(this.base.configs));
        const key = configResourceKey(record.resourceType, record.resourceName);
        const entries = new Map(configs.get(key) ?? []);
        if (record.value === null) entries.delete(record.name);
        else entries.set(record.name, record.value);
        if (entries.size === 0) configs.delete(key);
        else configs.set(key, entries);
        return this;
      }
      case 'feature-level': {
        const features = (this.features ??= new Map(this.base.features));
        if (record.level === 0) features.delete(record.name);
        else features.set(record.name, record.level);
        return this;
      }
      case 'producer-ids': {
        this.registration(record.brokerId, record.brokerEpoch, 'producer id block');
        invariant(record.nextProducerId > this.nextProducerId, () => `producer ids go backwards: ${record.nextProducerId} after ${this.nextProducerId}`);
        this.nextProducerId = record.nextProducerId;
        return this;
      }
    }
  }

  /** The image after every replayed record. */
  apply(): MetadataImage {
    let topicsById = this.topicsById;
    let topicsByName = this.topicsByName;
    if (this.changedTopics.size > 0) {
      topicsById ??= new Map(this.base.topicsById);
      topicsByName ??= new Map(this.base.topicsByName);
      for (const t of this.changedTopics.values()) {
        invariant(t.partitions.length > 0 || this.base.topicsById.get(t.topicId) === undefined, () => `topic ${t.name} lost its partitions`);
        const topic: TopicImage = Object.freeze({ name: t.name, topicId: t.topicId, partitions: Object.freeze([...t.partitions]) });
        topicsById.set(t.topicId, topic);
        topicsByName.set(t.name, topic);
      }
    }
    return Object.freeze({
      offset: this.offset,
      brokers: this.brokers ?? this.base.brokers,
      topicsById: topicsById ?? this.base.topicsById,
      topicsByName: topicsByName ?? this.base.topicsByName,
      configs: this.configs ?? this.base.configs,
      features: this.features ?? this.base.features,
      nextProducerId: this.nextProducerId,
    });
  }
}

/** Replays one record at `offset`. */
export function applyRecord(image: MetadataImage, record: MetadataRecord, offset: number): MetadataImage {
  return new MetadataDelta(image).replay(record, offset).apply();
}

/** Replays `records[i]` at `firstOffset + i`. */
export function applyRecords(image: MetadataImage, records: readonly MetadataRecord[], firstOffset: number): MetadataImage {
  if (records.length === 0) return image;
  const delta = new MetadataDelta(image);
  records.forEach((r, i) => delta.replay(r, firstOffset + i));
  return delta.apply();
}

/** The partition `topic`-`partitionId`, if both exist. */
export function partitionOf(image: MetadataImage, topicId: TopicId, partitionId: number): PartitionImage | undefined {
  return image.topicsById.get(topicId)?.partitions[partitionId];
}
