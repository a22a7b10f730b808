// The storage engine's public surface: record batches for clients, the partition log for replicas, the Raft
// metadata log and __consumer_offsets. Everything else in src/storage/ is internal.
export { openLog, PartitionLog } from './partition-log.js';
export type { OpenLogOptions, AppendResult, ReadOptions, ReadResult, OffsetForTimestamp, MaintenanceReport } from './partition-log.js';
export { resolveLogConfig, defaultLogConfig, logConfigFromKafka } from './log-config.js';
export type { LogConfig, CleanupPolicy } from './log-config.js';
export {
  encodeBatch,
  decodeRecords,
  decodeRecordsInto,
  readBatchHeader,
  validateBatch,
  validateBatches,
  batchesIn,
  assignOffsetAndEpoch,
  batchHeaderBytes,
  currentMagic,
} from './record-batch.js';
export type { BatchHeader, CompressionCodec, DecodedRecord, EncodeBatchOptions, RecordBuilder, RecordHeader, RecordHeaderInput, RecordInput, TimestampType } from './record-batch.js';
export { crc32c } from './crc32c.js';
