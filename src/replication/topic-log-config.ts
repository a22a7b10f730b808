// The per-topic part of a partition log's settings: each topic-level key that shapes a log (retention.ms,
// retention.bytes, segment.bytes, segment.ms, max.message.bytes, cleanup.policy, delete.retention.ms) set dynamically
// — the topic's own override, else the cluster-wide value of its broker synonym — laid over the node's base settings
// (its static config), which stay wherever nothing dynamic is set. Keeps: every value it returns is inside the log's
// own caps (src/limits.ts), so a topic config the controller accepted can never stop a replica from opening.
import { configResourceKey, type MetadataImage } from '../controller/image.js';
import { topicConfigDefs } from '../controller/topic-config.js';
import { batchBytesMax, segmentBytesMax, segmentBytesMin } from '../limits.js';
import type { CleanupPolicy, LogConfig } from '../storage/log-config.js';
import { batchHeaderBytes } from '../storage/record-batch.js';

/** Kafka's -1 ("unlimited") as the log's Infinity. */
function unlimited(value: number): number {
  return value < 0 ? Number.POSITIVE_INFINITY : value;
}

function cleanupPolicyOf(value: string): CleanupPolicy {
  const items = new Set(value.split(',').map((s) => s.trim()));
  if (items.has('compact') && items.has('delete')) return 'compact,delete';
  return items.has('compact') ? 'compact' : 'delete';
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** The dynamic value of a topic key: the topic's override, else the cluster's value of its broker synonym. */
function dynamicValue(image: MetadataImage, topic: string, key: string): string | undefined {
  const def = topicConfigDefs.get(key);
  if (def === undefined) throw new RangeError(`topic-log-config: ${key} is not a topic config`);
  return image.configs.get(configResourceKey('topic', topic))?.get(key) ?? image.configs.get(configResourceKey('cluster', ''))?.get(def.brokerSynonym ?? key);
}

/** The log settings of a partition of `topic`: `base` (the node's) with the topic's dynamic configs on top. */
export function topicLogConfig(image: MetadataImage, topic: string, base: Partial<LogConfig>): Partial<LogConfig> {
  const out: Partial<LogConfig> = { ...base };
  if (!image.topicsByName.has(topic)) return out;
  const num = (key: string, apply: (n: number) => void): void => {
    const raw = dynamicValue(image, topic, key);
    if (raw === undefined) return;
    const n = Number(raw);
    // The controller validated it; a value that is not a number here means the image is corrupt.
    if (!Number.isSafeInteger(n)) throw new RangeError(`topic ${topic}: ${key}=${JSON.stringify(raw)} is not an integer`);
    apply(n);
  };
  num('retention.ms', (n) => (out.retentionMs = unlimited(n)));
  num('retention.bytes', (n) => (out.retentionBytes = unlimited(n)));
  num('segment.bytes', (n) => (out.segmentBytes = clamp(n, segmentBytesMin, segmentBytesMax)));
  num('segment.ms', (n) => (out.segmentMs = Math.max(1, n)));
  // A batch is at least its header: below that (Kafka allows 0) every batch is refused anyway.
  num('max.message.bytes', (n) => (out.maxMessageBytes = clamp(n, batchHeaderBytes, batchBytesMax)));
  num('delete.retention.ms', (n) => (out.deleteRetentionMs = n));
  num('preallocate.bytes', (n) => (out.preallocateBytes = clamp(n, 0, segmentBytesMax)));
  const policy = dynamicValue(image, topic, 'cleanup.policy');
  if (policy !== undefined) out.cleanupPolicy = cleanupPolicyOf(policy);
  return out;
}

/** Whether two log settings differ in any key (the log is reconfigured only on a real change). */
export function sameLogConfig(a: Partial<LogConfig>, b: Partial<LogConfig>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof LogConfig>;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
