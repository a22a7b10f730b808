// The topic and broker config keys Raftline supports, with Kafka's names, types, defaults and validation, and
// topic name rules. Every rejection is INVALID_CONFIG (or INVALID_TOPIC_EXCEPTION) naming the key, the value and what
// is allowed. A topic's effective value resolves topic override → cluster dynamic config → static config → default.
import { RaftlineError } from '../wire/errors.js';
import { batchBytesMax, configValueBytesMax, maxMessageBytesDefault, preallocateBytesDefault, segmentBytesDefault, segmentBytesMin, topicNameBytesMax } from '../limits.js';
import { configResourceKey, type MetadataImage } from './image.js';
import type { ConfigResourceType } from './records.js';

export type ConfigType = 'int' | 'long' | 'boolean' | 'string' | 'list';

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  readonly defaultValue: string;
  /** Returns undefined when `value` is allowed, else a phrase saying what is allowed. */
  readonly check: (value: string) => string | undefined;
  /** The broker/cluster-level key that supplies this topic key's default (Kafka's "synonym"). */
  readonly brokerSynonym?: string;
}

const int32Max = 2_147_483_647;

function integerIn(min: number, max: number): (value: string) => string | undefined {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) return `an integer in [${min}, ${max}]`;
    const n = Number(value.trim());
    return Number.isSafeInteger(n) && n >= min && n <= max ? undefined : `an integer in [${min}, ${max}]`;
  };
}

function oneOf(allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => (allowed.includes(value) ? undefined : `one of ${allowed.join(', ')}`);
}

function listOf(allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    const ok = items.length > 0 && items.every((s) => allowed.includes(s)) && new Set(items).size === items.length;
    return ok ? undefined : `a comma-separated list of distinct values from ${allowed.join(', ')}`;
  };
}

const booleanCheck = (value: string): string | undefined =>
  value.toLowerCase() === 'true' || value.toLowerCase() === 'false' ? undefined : 'true or false';

const compressionTypes = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
const timestampTypes = ['CreateTime', 'LogAppendTime'] as const;
const longMax = Number.MAX_SAFE_INTEGER;

function def(name: string, type: ConfigType, defaultValue: string, check: ConfigDef['check'], brokerSynonym?: string): ConfigDef {
  return Object.freeze(brokerSynonym === undefined ? { name, type, defaultValue, check } : { name, type, defaultValue, check, brokerSynonym });
}

/** Per-topic config keys (Kafka's names and defaults). */
export const topicConfigDefs: ReadonlyMap<string, ConfigDef> = new Map([
  def('cleanup.policy', 'list', 'delete', listOf(['delete', 'compact']), 'log.cleanup.policy'),
  def('retention.ms', 'long', String(7 * 24 * 3_600_000), integerIn(-1, longMax), 'log.retention.ms'),
  def('retention.bytes', 'long', '-1', integerIn(-1, longMax), 'log.retention.bytes'),
  def('segment.bytes', 'int', String(segmentBytesDefault), integerIn(segmentBytesMin, int32Max), 'log.segment.bytes'),
  def('segment.ms', 'long', String(7 * 24 * 3_600_000), integerIn(1, longMax), 'log.roll.ms'),
  def('min.insync.replicas', 'int', '1', integerIn(1, int32Max), 'min.insync.replicas'),
  def('unclean.leader.election.enable', 'boolean', 'false', booleanCheck, 'unclean.leader.election.enable'),
  def('max.message.bytes', 'int', String(maxMessageBytesDefault), integerIn(0, batchBytesMax), 'message.max.bytes'),
  // Raftline's: disk space a busy partition keeps reserved past its active segment's data (docs/storage.md).
  def('preallocate.bytes', 'int', String(preallocateBytesDefault), integerIn(0, int32Max), 'log.preallocate.bytes'),
  def('delete.retention.ms', 'long', String(24 * 3_600_000), integerIn(0, longMax), 'log.cleaner.delete.retention.ms'),
  def('min.compaction.lag.ms', 'long', '0', integerIn(0, longMax), 'log.cleaner.min.compaction.lag.ms'),
  def('file.delete.delay.ms', 'long', '60000', integerIn(0, longMax), 'log.segment.delete.delay.ms'),
  def('message.timestamp.type', 'string', 'CreateTime', oneOf(timestampTypes), 'log.message.timestamp.type'),
  def('compression.type', 'string', 'producer', oneOf(compressionTypes), 'compression.type'),
].map((d) => [d.name, d]));

/** Broker-level keys that may be set dynamically on the cluster or one broker. */
export const brokerConfigDefs: ReadonlyMap<string, ConfigDef> = new Map([
  ...[...topicConfigDefs.values()].map((t) => def(t.brokerSynonym ?? t.name, t.type, t.defaultValue, t.check)),
  def('num.partitions', 'int', '1', integerIn(1, int32Max)),
  def('default.replication.factor', 'int', '1', integerIn(1, int32Max)),
].map((d) => [d.name, d]));

function invalidConfig(key: string, value: string, allowed: string): RaftlineError {
  return new RaftlineError('INVALID_CONFIG', `invalid value ${JSON.stringify(value)} for config ${key}: expected ${allowed}`);
}

/** The definitions for a resource type: topic keys for topics, broker keys for brokers and the cluster. */
export function configDefsFor(type: ConfigResourceType): ReadonlyMap<string, ConfigDef> {
  return type === 'topic' ? topicConfigDefs : brokerConfigDefs;
}

/** Throws INVALID_CONFIG unless `key` is a known key of the resource type and `value` is allowed for it. */
export function validateConfig(type: ConfigResourceType, key: string, value: string): void {
  const d = configDefsFor(type).get(key);
  if (d === undefined) {
    throw new RaftlineError('INVALID_CONFIG', `unknown ${type} config ${JSON.stringify(key)}: expected one of ${[...configDefsFor(type).keys()].join(', ')}`);
  }
  if (value.length > configValueBytesMax) throw invalidConfig(key, `${value.slice(0, 32)}...`, `at most ${configValueBytesMax} characters`);
  const problem = d.check(value);
  if (problem !== undefined) throw invalidConfig(key, value, problem);
}

/** Kafka's legal topic characters. */
const topicNamePattern = /^[a-zA-Z0-9._-]+$/;

/** Throws INVALID_TOPIC_EXCEPTION unless `name` follows Kafka's topic name rules. */
export function validateTopicName(name: string): void {
  const quoted = JSON.stringify(name);
  if (name.length === 0) throw new RaftlineError('INVALID_TOPIC_EXCEPTION', 'topic name is empty');
  if (name === '.' || name === '..') throw new RaftlineError('INVALID_TOPIC_EXCEPTION', `topic name ${quoted} is not allowed ('.' and '..' are reserved)`);
  if (name.length > topicNameBytesMax) {
    throw new RaftlineError('INVALID_TOPIC_EXCEPTION', `topic name of ${name.length} characters is longer than ${topicNameBytesMax}`);
  }
  if (!topicNamePattern.test(name)) {
    throw new RaftlineError('INVALID_TOPIC_EXCEPTION', `topic name ${quoted} may contain only ASCII letters, digits, '.', '_' and '-'`);
  }
}

/**
 * A topic's effective value of `key`: its own override, else the cluster-level dynamic value of the broker synonym,
 * else the node's static config (`staticConfigs`, broker key names), else Kafka's default.
 */
export function effectiveTopicConfig(image: MetadataImage, topicName: string, key: string, staticConfigs: ReadonlyMap<string, string> = new Map()): string {
  const d = topicConfigDefs.get(key);
  if (d === undefined) throw new RaftlineError('INVALID_CONFIG', `unknown topic config ${JSON.stringify(key)}`);
  const own = image.configs.get(configResourceKey('topic', topicName))?.get(key);
  if (own !== undefined) return own;
  const synonym = d.brokerSynonym ?? key;
  return image.configs.get(configResourceKey('cluster', ''))?.get(synonym) ?? staticConfigs.get(synonym) ?? d.defaultValue;
}

/** The effective config of a cluster-level key (num.partitions, default.replication.factor, ...). */
export function effectiveClusterConfig(image: MetadataImage, key: string, staticConfigs: ReadonlyMap<string, string> = new Map()): string {
  const d = brokerConfigDefs.get(key);
  if (d === undefined) throw new RaftlineError('INVALID_CONFIG', `unknown broker config ${JSON.stringify(key)}`);
  return image.configs.get(configResourceKey('cluster', ''))?.get(key) ?? staticConfigs.get(key) ?? d.defaultValue;
}

export function topicMinIsr(image: MetadataImage, topicName: string, staticConfigs?: ReadonlyMap<string, string>): number {
  return Number(effectiveTopicConfig(image, topicName, 'min.insync.replicas', staticConfigs));
}

export function topicUncleanElection(image: MetadataImage, topicName: string, staticConfigs?: ReadonlyMap<string, string>): boolean {
  return effectiveTopicConfig(image, topicName, 'unclean.leader.election.enable', staticConfigs).toLowerCase() === 'true';
}
