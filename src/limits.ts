// Every bound in Raftline lives here (CONVENTIONS.md, from TigerBeetle): frame and batch sizes, in-flight requests,
// queue depths. Names end in the unit or qualifier: ...Max, ...Ms, ...Bytes. Each queue held in memory is bounded by
// one of these. Config may lower a value that is also configurable; nothing may raise it above these caps.

const KiB = 1024;
const MiB = 1024 * KiB;

// Wire
/** Largest frame a node accepts or sends (CBOR envelope included). */
export const frameBytesMax = 16 * MiB;
/** Outbound bytes buffered on one connection before `send` reports backpressure. */
export const connectionBufferedBytesMax = 8 * MiB;
/** Requests awaiting a response on one client connection. */
export const inFlightRequestsMax = 1024;
/** Default time a request waits for its response before REQUEST_TIMED_OUT. */
export const requestTimeoutMsDefault = 30_000;
/** Interval of WebSocket ping liveness checks, and how many missed pongs close the connection. */
export const pingIntervalMs = 5_000;
export const pingMissedMax = 2;
/** Connections one node accepts at once. */
export const connectionsMax = 10_000;

// Storage
/** Largest record batch accepted (Kafka's message.max.bytes default is about 1 MiB; we allow the config up to this). */
export const batchBytesMax = 8 * MiB;
/** Records in one batch. */
export const batchRecordsMax = 1_000_000;
/** Default max.message.bytes. */
export const maxMessageBytesDefault = 1 * MiB + 12;
/** Default segment.bytes (1 GiB) and the smallest allowed. */
export const segmentBytesDefault = 1024 * MiB;
export const segmentBytesMin = 14;
/** Bytes appended between two sparse offset-index entries (Kafka's index.interval.bytes). */
export const indexIntervalBytes = 4 * KiB;

// Cluster
/** Nodes in one cluster. */
export const nodesMax = 1024;
/** Partitions of one topic. */
export const partitionsPerTopicMax = 100_000;
/** Topic name length (Kafka's limit). */
export const topicNameBytesMax = 249;

// Storage engine (src/storage/)
/** Largest segment.bytes: positions in a segment's indexes are unsigned 32-bit, and reads address one segment. */
export const segmentBytesMax = 2 ** 31 - 1;
/** Offsets in one segment: index entries hold offsets relative to the segment's base as 32-bit values. */
export const segmentOffsetSpanMax = 2 ** 31 - 1;
/** Default segment.ms, retention.ms (7 days) and delete.retention.ms (1 day), as in Kafka. */
export const segmentMsDefault = 7 * 24 * 3600_000;
export const retentionMsDefault = 7 * 24 * 3600_000;
export const deleteRetentionMsDefault = 24 * 3600_000;
/** How often the recovery point is checkpointed by maintenance (Kafka's log.flush.offset.checkpoint.interval.ms). */
export const recoveryCheckpointIntervalMsDefault = 60_000;
/** Largest single read from a log (a fetch's partition max bytes is capped here). */
export const logReadBytesMax = 64 * MiB;
/** Distinct keys the compactor holds in memory in one pass; a larger dirty section is cleaned in several passes. */
export const compactionKeysMax = 1_000_000;
/** Leader epochs remembered per partition (older entries are dropped with the log prefix they describe). */
export const leaderEpochEntriesMax = 100_000;
/** Closed segments per log whose sparse indexes stay in memory (least recently used first out); the rest are read
 * back from their index files on demand, so memory stays flat as a log grows. */
export const segmentIndexesResidentMax = 4;
