// Per-partition log configuration with Kafka's names and defaults, validated once when a log is opened.
// Invariant: every value is within the caps of src/limits.ts, so the log never has to re-check them.
import {
  deleteRetentionMsDefault,
  indexIntervalBytes,
  maxMessageBytesDefault,
  preallocateBytesDefault,
  batchBytesMax,
  recoveryCheckpointIntervalMsDefault,
  retentionMsDefault,
  segmentBytesDefault,
  segmentBytesMax,
  segmentBytesMin,
  segmentMsDefault,
} from '../limits.js';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface LogConfig {
  /** segment.bytes: roll a new segment when the active one would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment is older than this. */
  segmentMs: number;
  /** retention.ms: delete whole segments whose newest record is older (Infinity = keep forever). */
  retentionMs: number;
  /** retention.bytes: delete oldest segments while the log is bigger than this (Infinity = unlimited, Kafka's -1). */
  retentionBytes: number;
  /** cleanup.policy. */
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long a compacted topic keeps tombstones. */
  deleteRetentionMs: number;
  /** max.message.bytes: the largest batch accepted. */
  maxMessageBytes: number;
  /** log.flush.interval.messages: fsync after this many appended records (Infinity: rely on replication). */
  flushIntervalMessages: number;
  /** log.flush.interval.ms: fsync when the oldest unflushed append is this old (Infinity: never by time). */
  flushIntervalMs: number;
  /** index.interval.bytes: bytes between sparse index entries. */
  indexIntervalBytes: number;
  /**
   * preallocate.bytes (Raftline's; Kafka has only the all-or-nothing `preallocate`): how far past its data a busy
   * active segment keeps disk blocks reserved, which makes buffered appends cheaper; 0 turns it off. Segments with
   * less data than this reserve nothing.
   */
  preallocateBytes: number;
  /** Check each batch's CRC when serving reads (costs a CRC pass over everything read). */
  verifyCrcOnRead: boolean;
  /** How often maintenance checkpoints the recovery point. */
  recoveryCheckpointIntervalMs: number;
}

export const defaultLogConfig: LogConfig = {
  segmentBytes: segmentBytesDefault,
  segmentMs: segmentMsDefault,
  retentionMs: retentionMsDefault,
  retentionBytes: Number.POSITIVE_INFINITY,
  cleanupPolicy: 'delete',
  deleteRetentionMs: deleteRetentionMsDefault,
  maxMessageBytes: maxMessageBytesDefault,
  flushIntervalMessages: Number.POSITIVE_INFINITY,
  flushIntervalMs: Number.POSITIVE_INFINITY,
  indexIntervalBytes,
  preallocateBytes: preallocateBytesDefault,
  verifyCrcOnRead: false,
  recoveryCheckpointIntervalMs: recoveryCheckpointIntervalMsDefault,
};

function positive(name: string, v: number, min = 1, max = Number.POSITIVE_INFINITY): void {
  if (!(v >= min && v <= max) || (Number.isFinite(v) && !Number.isInteger(v))) {
    throw new RangeError(`log config ${name}=${v} must be an integer in [${min}, ${max}]`);
  }
}

/** Merges `overrides` over the defaults and validates the result; throws RangeError naming the bad key. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const c: LogConfig = { ...defaultLogConfig, ...overrides };
  positive('segment.bytes', c.segmentBytes, segmentBytesMin, segmentBytesMax);
  positive('segment.ms', c.segmentMs);
  positive('retention.ms', c.retentionMs, 0);
  positive('retention.bytes', c.retentionBytes, 0);
  positive('delete.retention.ms', c.deleteRetentionMs, 0);
  positive('max.message.bytes', c.maxMessageBytes, 61, batchBytesMax);
  positive('log.flush.interval.messages', c.flushIntervalMessages);
  positive('log.flush.interval.ms', c.flushIntervalMs, 0);
  positive('index.interval.bytes', c.indexIntervalBytes, 1, segmentBytesMax);
  positive('preallocate.bytes', c.preallocateBytes, 0, segmentBytesMax);
  positive('recovery checkpoint interval', c.recoveryCheckpointIntervalMs, 1);
  if (!['delete', 'compact', 'compact,delete'].includes(c.cleanupPolicy)) {
    throw new RangeError(`log config cleanup.policy=${String(c.cleanupPolicy)} must be delete, compact or compact,delete`);
  }
  return c;
}

/** Kafka's topic-level names (and the broker-level `log.` names) for each LogConfig key. */
const kafkaKeys: Record<string, keyof LogConfig> = {
  'segment.bytes': 'segmentBytes',
  'log.segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'log.roll.ms': 'segmentMs',
  'retention.ms': 'retentionMs',
  'log.retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'log.retention.bytes': 'retentionBytes',
  'cleanup.policy': 'cleanupPolicy',
  'log.cleanup.policy': 'cleanupPolicy',
  'delete.retention.ms': 'deleteRetentionMs',
  'log.cleaner.delete.retention.ms': 'deleteRetentionMs',
  'max.message.bytes': 'maxMessageBytes',
  'message.max.bytes': 'maxMessageBytes',
  'flush.messages': 'flushIntervalMessages',
  'log.flush.interval.messages': 'flushIntervalMessages',
  'flush.ms': 'flushIntervalMs',
  'log.flush.interval.ms': 'flushIntervalMs',
  'index.interval.bytes': 'indexIntervalBytes',
  'log.index.interval.bytes': 'indexIntervalBytes',
  'preallocate.bytes': 'preallocateBytes',
  'log.preallocate.bytes': 'preallocateBytes',
};

/**
 * Reads Kafka-named settings (`retention.ms`, `log.flush.interval.messages`, ...) into LogConfig overrides, ignoring
 * keys that are not storage settings. As in Kafka, -1 means unlimited for the retention and flush settings. Throws
 * RangeError naming the key when a value is not a number (or not a policy); resolveLogConfig checks the ranges.
 */
export function logConfigFromKafka(properties: Readonly<Record<string, string | number>>): Partial<LogConfig> {
  const out: Partial<Record<keyof LogConfig, unknown>> = {};
  for (const [name, raw] of Object.entries(properties)) {
    const key = kafkaKeys[name];
    if (key === undefined) continue;
    if (key === 'cleanupPolicy') {
      const policy = String(raw).split(',').map((p) => p.trim()).sort().join(',');
      if (policy !== 'delete' && policy !== 'compact' && policy !== 'compact,delete') {
        throw new RangeError(`${name}=${String(raw)} must be delete, compact or compact,delete`);
      }
      out[key] = policy;
      continue;
    }
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(value) || !Number.isInteger(value)) throw new RangeError(`${name}=${String(raw)} is not an integer`);
    const unlimited = value === -1 && ['retentionMs', 'retentionBytes', 'flushIntervalMessages', 'flushIntervalMs'].includes(key);
    // Kafka's "never flush" default is Long.MAX_VALUE; anything that large means the same here.
    const huge = value >= Number.MAX_SAFE_INTEGER && (key === 'flushIntervalMessages' || key === 'flushIntervalMs');
    out[key] = unlimited || huge ? Number.POSITIVE_INFINITY : value;
  }
  return out as Partial<LogConfig>;
}
