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
/** Default preallocate.bytes: disk blocks a busy active segment keeps reserved past its data. */
export const preallocateBytesDefault = 8 * MiB;
/** malloc.trim.threshold.bytes: freed memory a broker keeps for reuse before glibc gives it back (src/runtime/real/malloc.ts). */
export const mallocTrimThresholdBytesDefault = 128 * MiB;

// Cluster
/** Nodes in one cluster. */
export const nodesMax = 1024;
/** Partitions of one topic. */
export const partitionsPerTopicMax = 100_000;
/** Topic name length (Kafka's limit). */
export const topicNameBytesMax = 249;

// Real network (src/runtime/real/network.ts)
/** After `send` reported backpressure, onDrain fires once buffered outbound bytes fall to this low-water mark. */
export const connectionDrainBytesLow = 1 * MiB;
/** Frames a paused connection holds that the transport had already read before the pause took effect (one socket
 * read at most: tens of thousands of tiny frames); more closes the connection as a protocol error. */
export const pausedFramesMax = 65_536;
/** How long a client waits for the WebSocket handshake before the connection closes with by:'error'. */
export const connectTimeoutMs = 10_000;
/** After a local close, how long the closing handshake may take before the socket is destroyed. */
export const closeGraceMs = 2_000;

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


// Simulator (sim/)
/** Live timers in one simulated run; more means something schedules without bound. */
export const simTimersPendingMax = 1_000_000;
/** Scheduler steps in one run before it is declared a livelock. */
export const simStepsMax = 50_000_000;
/** Faults in one schedule (also the cap of the swarm generator). */
export const simFaultsMax = 10_000;
/** Re-runs the shrinker may spend on one failing seed. */
export const simShrinkRunsMax = 200;

// Controller (src/controller/)
/** Default broker.session.timeout.ms: a broker with no heartbeat for this long is fenced (Kafka's default). */
export const brokerSessionTimeoutMsDefault = 9_000;
/** Default broker.heartbeat.interval.ms (Kafka's default). */
export const brokerHeartbeatIntervalMsDefault = 2_000;
/** Producer ids handed to a broker per AllocateProducerIds request (Kafka's block size). */
export const producerIdBlockSize = 1_000;
/** Replication factor of one partition. */
export const replicationFactorMax = 32;
/** Topics in one CreateTopics/DeleteTopics/CreatePartitions request. */
export const topicsPerRequestMax = 10_000;
/** Config entries on one resource (one topic, one broker, the cluster). */
export const configsPerResourceMax = 256;
/** Length of one config value. */
export const configValueBytesMax = 4_096;
/** Controller batches written but not yet committed; beyond this the controller answers THROTTLING_QUOTA_EXCEEDED. */
export const controllerPendingBatchesMax = 10_000;

// Raft (KRaft metadata quorum, src/raft/)
/** Default election timeout (Kafka's controller.quorum.election.timeout.ms); each wait is randomised in [t, 2t). */
export const raftElectionTimeoutMsDefault = 1_000;
/** Default fetch timeout (controller.quorum.fetch.timeout.ms): a follower that hears nothing this long starts an election. */
export const raftFetchTimeoutMsDefault = 2_000;
/** Default cap of the exponential election back-off (controller.quorum.election.backoff.max.ms). */
export const raftElectionBackoffMaxMsDefault = 1_000;
/** Default base retry back-off (controller.quorum.retry.backoff.ms). */
export const raftRetryBackoffMsDefault = 20;
/** Pause between two fetches when the previous one brought nothing new, used only when long polling is off (fetchMaxWaitMs 0). */
export const raftFetchIdleMsDefault = 50;
/**
 * Default time a leader holds a fetch that finds nothing new (KIP-595 long poll; KRaft's fetch max wait is 500 ms). It
 * answers at once when its log grows or its high watermark moves, so idle followers cost two messages per 500 ms
 * instead of a poll every fetchIdleMs, and a new entry reaches them one network hop after it is appended.
 */
export const raftFetchMaxWaitMsDefault = 500;
/** After EndQuorumEpoch, the k-th preferred successor (from 0) starts its election k times this late (Kafka staggers them too). */
export const raftSuccessorStaggerMs = 100;
/** A follower's fetch timeout is stretched by a random share up to this fraction, drawn per leader it follows. */
export const raftFetchTimeoutJitterFraction = 0.1;
/** The longest wait a fetch may ask for (it must stay well under the fetch timeout). */
export const raftFetchMaxWaitMsMax = 1_000;
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



// ---------------------------------------------------------------------------------------------------------------
// Raft quorum in the simulator (sim/systems/raft-quorum.ts)

/** Proposals the simulator's quorum workload keeps in flight (appended, not yet committed) at once. */
export const raftSimProposalsInFlightMax = 64;
// Raft storage (src/raft/storage-log.ts, disk-quorum-store.ts, transport.ts)
/** Entries the durable Raft log keeps in memory past its snapshot (reads are synchronous); the host snapshots before. */
export const raftLogEntriesInMemoryMax = 1_000_000;
/** Bytes of record payload the durable Raft log keeps in memory past its snapshot. */
export const raftLogBytesInMemoryMax = 256 * MiB;
/** Segment size of the metadata log (smaller than a partition's: it is compacted by snapshots, not retention). */
export const raftLogSegmentBytesDefault = 16 * MiB;
/** Bytes of the quorum-state file we accept (it is a few dozen bytes; anything bigger is not ours). */
export const raftQuorumStateBytesMax = 4 * KiB;
/** Messages queued for a peer while its connection is not open (older ones are dropped: Raft retries). */
export const raftTransportQueueMax = 256;
/** A message queued longer than this for a peer that was not connected is dropped instead of sent late. */
export const raftTransportQueuedMaxAgeMs = 1_000;
/** First and largest delay before reconnecting to a peer whose connection closed (doubling in between). */
export const raftTransportReconnectMsMin = 50;
export const raftTransportReconnectMsMax = 2_000;

// Quorum controller and broker lifecycle (src/controller/machine.ts, quorum-controller.ts, src/broker/lifecycle.ts)
// Raftline's session defaults are shorter than Kafka's (9 s / 2 s above): the goal is that a broker killed with -9
// loses its partition leaderships within ~3 s. A dead broker is fenced at most sessionTimeout + sessionCheck after its
// last heartbeat reached the controller (2 s + 0.1 s), and the new leaders are committed one Raft round trip later.
// Four heartbeats fit in one session, so two lost ones in a row do not fence a live broker.
/** Default broker.session.timeout.ms used by the controller machine. */
export const controllerSessionTimeoutMsDefault = 2_000;
/** Default broker.heartbeat.interval.ms used by the broker lifecycle. */
export const controllerHeartbeatIntervalMsDefault = 500;
/** How often the active controller looks for expired broker sessions. */
export const controllerSessionCheckMsDefault = 100;
/** A broker's wait before it retries a registration or heartbeat that failed (unreachable or not the controller). */
export const brokerLifecycleRetryMsDefault = 100;
/** Time a broker's lifecycle request to the controller may take before it is retried elsewhere. */
export const brokerLifecycleRequestTimeoutMsDefault = 1_000;
/** Time a broker waits for the active controller to answer a write it forwarded for a client (KIP-590). */
export const controllerForwardTimeoutMsDefault = 10_000;

// Broker composition (src/broker/)
/** Committed metadata entries after the last snapshot that trigger a new one (KIP-630), and how often to look. */
export const metadataSnapshotEntriesMin = 20_000;
export const metadataSnapshotCheckMs = 10_000;

// Fast failover (src/raft/states/follower.ts, src/raft/transport.ts)
// When the transport sees its connection to the leader reset (a crashed process), a follower probes the leader and,
// unless the leader answers first, starts a pre-vote after a random wait in [min, max): short enough to elect a new
// leader well inside the 2 s fetch timeout, spread wide enough (200 ms against ~1 ms round trips) that two followers
// rarely campaign together. A partition resets nothing, so the fetch timeout stays the fallback.
export const raftUnreachableLeaderDelayMsMin = 50;
export const raftUnreachableLeaderDelayMsMax = 250;

// ---------------------------------------------------------------------------------------------------------------
// Replication data plane (src/wire/data.ts, src/replication/)

/** Partitions named in one produce, fetch or list-offsets request (over all its topics). */
export const dataPartitionsPerRequestMax = 10_000;
/** Longest long-poll a fetch may ask for (fetch.max.wait.ms / replica.fetch.wait.max.ms are capped here). */
export const dataFetchWaitMsMax = 60_000;
/** Longest time an acks=all produce may wait for replication (request.timeout.ms is capped here). */
export const dataProduceTimeoutMsMax = 300_000;
/** Batches remembered per idempotent producer and partition (Kafka's 5: at most 5 requests in flight per producer). */
export const producerBatchesRememberedMax = 5;
/** Idempotent producers remembered per partition (the least recently written one is forgotten first). */
export const producersPerPartitionMax = 10_000;
/** Produce requests parked waiting for replication (acks=all) on one broker; more are refused as retriable. */
export const producePurgatoryMax = 100_000;
/** Fetch requests parked in a long poll on one broker. */
export const fetchPurgatoryMax = 10_000;
/** Default replica.fetch.max.bytes (per partition) and replica.fetch.response.max.bytes of a follower's fetch. */
export const replicaFetchPartitionBytesDefault = 1024 * 1024;
export const replicaFetchResponseBytesDefault = 10 * 1024 * 1024;
/** A follower's pause before it fetches again after a failed fetch (replica.fetch.backoff.ms). */
export const replicaFetchBackoffMsDefault = 100;
/** How often a leader looks for ISR members to shrink and retries a failed AlterPartition. */
export const isrCheckIntervalMsMax = 1_000;
/** How often a replica's log runs its maintenance (time-based flush, retention, compaction, recovery checkpoint). */
export const replicaLogMaintenanceMs = 30_000;
/** Bytes a fetch response keeps free under frameBytesMax for its envelope and per-partition fields. */
export const fetchResponseOverheadBytes = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Clients (src/client/)

/** Largest buffer.memory a producer may be given: unacknowledged record bytes it holds. */
export const producerBufferBytesMax = 1024 * MiB;
/** Produce requests outstanding to one broker with idempotence (the broker remembers 5 batches per producer). */
export const producerInFlightPerConnectionMax = 5;
/** Records a producer holds while it waits for the metadata of their topic (beyond this, send fails at once). */
export const producerMetadataWaitRecordsMax = 100_000;
/** Largest produce request a producer builds (max.request.size cap). */
export const producerRequestBytesMax = 8 * MiB;
/** Records one consumer poll returns at most (max.poll.records cap). */
export const consumerPollRecordsMax = 100_000;
/** fetch.max.bytes cap: record bytes one fetch response may carry (it must fit in one frame with its envelope). */
export const consumerFetchBytesMax = 8 * MiB;
/** Partitions one consumer may be assigned. */
export const consumerAssignedPartitionsMax = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Data-plane performance (src/replication/tail-cache.ts)

/** Bytes of a leader's latest appended batches kept in memory per partition, so fetches at the tail need no file
 *  read (a follower lags by about what is in flight: 5 produce requests of up to 1 MiB each). */
export const replicaTailCacheBytesMax = 4 * MiB;
/** Bytes all the tail caches of one broker may hold together. */
export const replicaTailCacheBrokerBytesMax = 64 * MiB;

// Liveness of idempotent producers (KIP-360 epoch bumps)

/** The highest producer epoch (Kafka's Short.MAX_VALUE); a bump past it gets a fresh producer id instead. */
export const producerEpochMax = 32_767;
/**
 * The longest a follower waits for a fetch answer beyond replica.fetch.wait.max.ms before it gives the fetch up and
 * sends another (capped by request.timeout.ms). A fetch only reads, so a retry is harmless; a lost answer must not
 * keep the follower out of the ISR for a whole request timeout (30 s by default).
 */
export const replicaFetchResponseSlackMsMax = 3_000;

// Raft append linger (src/raft/states/leader.ts, quorum.append.linger.ms)

/**
 * How long a Raft leader gathers proposals before appending them as one write (quorum.append.linger.ms). Kafka's
 * default is 25 ms; ours is 0 (each proposal is appended as it arrives) because every proposal would otherwise wait
 * that long for its commit, and the protocol's specs and scripted traces are written for immediate appends. Under load
 * a linger carries several proposals in one write and one round of fetch answers (docs/raft-quorum-sim.md, "Speed").
 */
export const raftAppendLingerMsDefault = 0;
/** The longest append linger a configuration may ask for (it must stay well below the fetch timeouts). */
export const raftAppendLingerMsMax = 1_000;

// ---------------------------------------------------------------------------------------------------------------
// Wire send path (src/wire/codec.ts encodeFrameParts)

/** A byte string at least this long is written to the socket as it is, behind the encoded frame head, instead of
 *  being copied into the CBOR output (below it one copy costs less than one more write part). */
export const frameSpliceBytesMin = 16 * 1024;
/** Byte strings spliced into one frame at most (a fetch response: one per partition); more are copied as usual. */
export const frameSplicePartsMax = 1024;

// ---------------------------------------------------------------------------------------------------------------
// Producer fire-and-forget failures (src/client/producer.ts produce())

/** A record produced with no callback and no promise that fails is counted every time but logged at most this often
 *  (with how many went unlogged since), so a fire-and-forget loop against a failing cluster cannot flood the log. */
export const producerUnobservedFailureLogIntervalMs = 1_000;

// The brokers on the acks=all path (src/replication/tail-cache.ts)

/** A produce request's batches are kept in the tail cache as views of the request's frame (no copy) when the frame
 *  is at most this many times their size, and charged their share of it; a smaller share of a frame is copied. */
export const replicaTailCachePinFactorMax = 4;
