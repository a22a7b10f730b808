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

// Raft (KRaft metadata quorum, src/raft/)
/** Default election timeout (Kafka's controller.quorum.election.timeout.ms); each wait is randomised in [t, 2t). */
export const raftElectionTimeoutMsDefault = 1_000;
/** Default fetch timeout (controller.quorum.fetch.timeout.ms): a follower that hears nothing this long starts an election. */
export const raftFetchTimeoutMsDefault = 2_000;
/** Default cap of the exponential election back-off (controller.quorum.election.backoff.max.ms). */
export const raftElectionBackoffMaxMsDefault = 1_000;
/** Default base retry back-off (controller.quorum.retry.backoff.ms). */
export const raftRetryBackoffMsDefault = 20;
/** Default pause between two fetches when the previous one brought nothing new (we poll instead of long-polling). */
export const raftFetchIdleMsDefault = 50;
/** Default interval at which a leader re-sends BeginQuorumEpoch to voters that have not fetched in its epoch yet. */
export const raftBeginQuorumEpochRetryMsDefault = 500;
/** Default time a follower waits for a fetch response before it sends the fetch again (a lost message costs this). */
export const raftFetchRetryMsDefault = 500;
/** Default interval at which an observer without a leader asks a random voter who leads. */
export const raftObserverDiscoveryMsDefault = 200;
/** Entries one fetch response carries. */
export const raftFetchEntriesMax = 512;
/** Records one proposal may carry. */
export const raftProposalRecordsMax = 10_000;
/** Bytes of one record's payload. */
export const raftRecordBytesMax = 1 * MiB;
/** Entries a leader holds appended but not yet committed before it refuses proposals (back-pressure on the controller). */
export const raftUncommittedEntriesMax = 100_000;
/** Voters in one quorum. */
export const raftVotersMax = 64;
/** Largest snapshot a follower accepts (it is assembled in memory before it is installed). */
export const raftSnapshotBytesMax = 256 * MiB;
/** Bytes one FetchSnapshot response carries. */
export const raftSnapshotChunkBytes = 1 * MiB;
