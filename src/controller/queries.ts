// Read-only answers from the metadata image: DescribeCluster, DescribeConfigs and topic/partition descriptions.
// They write no records; the caller answers from the last committed image so clients never see uncommitted state.
import { RaftlineError, type WireError } from '../wire/errors.js';
import { configResourceKey, type MetadataImage } from './image.js';
import type { ConfigResourceType, Endpoint, TopicId } from './records.js';
import { brokerConfigDefs, topicConfigDefs } from './topic-config.js';

export interface DescribedBroker {
  readonly brokerId: number;
  readonly rack: string | null;
  readonly endpoints: readonly Endpoint[];
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

/** DescribeCluster: registered brokers sorted by id (fenced ones flagged; Kafka hides them unless asked). */
export function describeCluster(image: MetadataImage, includeFenced = false): readonly DescribedBroker[] {
  return [...image.brokers.values()]
    .filter((b) => includeFenced || !b.fenced)
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((b) => ({ brokerId: b.brokerId, rack: b.rack, endpoints: b.endpoints, fenced: b.fenced, inControlledShutdown: b.inControlledShutdown }));
}

export interface DescribedPartition {
  readonly partitionId: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly elr: readonly number[];
  readonly lastKnownElr: readonly number[];
}

export interface DescribedTopic {
  readonly name: string;
  readonly topicId: TopicId | null;
  readonly error: WireError | null;
  readonly partitions: readonly DescribedPartition[];
}

/** Topic descriptions (Metadata / DescribeTopicPartitions); `names` null means every topic, sorted by name. */
export function describeTopics(image: MetadataImage, names: readonly string[] | null): readonly DescribedTopic[] {
  const wanted = names ?? [...image.topicsByName.keys()].sort();
  return wanted.map((name) => {
    const t = image.topicsByName.get(name);
    if (t === undefined) {
      return { name, topicId: null, error: new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(name)} does not exist`).toWire(), partitions: [] };
    }
    return { name, topicId: t.topicId, error: null, partitions: t.partitions.map((p, partitionId) => ({ partitionId, ...p })) };
  });
}

export type ConfigSource = 'topic' | 'broker' | 'cluster' | 'static' | 'default';

export interface DescribedConfig {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSource;
}

/**
 * DescribeConfigs: every supported key of the resource with its effective value and where it came from. For a topic:
 * its override, the cluster's dynamic synonym, the static config, the default; for a broker: its own dynamic value,
 * the cluster's, the static config, the default.
 */
export function describeConfigs(
  image: MetadataImage,
  resource: { readonly type: ConfigResourceType; readonly name: string },
  staticConfigs: ReadonlyMap<string, string> = new Map(),
): { readonly error: WireError | null; readonly configs: readonly DescribedConfig[] } {
  if (resource.type === 'topic' && !image.topicsByName.has(resource.name)) {
    return { error: new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(resource.name)} does not exist`).toWire(), configs: [] };
  }
  const own = image.configs.get(configResourceKey(resource.type, resource.name));
  const cluster = image.configs.get(configResourceKey('cluster', ''));
  const defs = resource.type === 'topic' ? topicConfigDefs : brokerConfigDefs;
  const configs = [...defs.values()].map((d): DescribedConfig => {
    const synonym = resource.type === 'topic' ? (d.brokerSynonym ?? d.name) : d.name;
    const ownValue = own?.get(d.name);
    if (ownValue !== undefined && resource.type !== 'cluster') return { name: d.name, value: ownValue, source: resource.type };
    const clusterValue = cluster?.get(synonym);
    if (clusterValue !== undefined) return { name: d.name, value: clusterValue, source: 'cluster' };
    const staticValue = staticConfigs.get(synonym);
    if (staticValue !== undefined) return { name: d.name, value: staticValue, source: 'static' };
    return { name: d.name, value: d.defaultValue, source: 'default' };
  });
  return { error: null, configs };
}
