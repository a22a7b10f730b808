// The broker's replica manager: owns one PartitionReplica (and its PartitionLog under the data directory) per
// partition the metadata image places on this broker, drives their role charts from each committed image, runs one
// fetcher per source broker for the partitions it follows, and answers the `data.*` apis: produce (acks 0/1/all
// with a purgatory), fetch (followers and consumers, long-polled), list-offsets, init-producer-id, metadata.
// Keeps: a replica exists here only while the image lists this broker among its replicas (a deleted or re-created
// topic's old log is removed, never served); a consumer never reads at or above the high watermark; parked produce
// and fetch requests are bounded (src/limits.ts) and each is answered exactly once.
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { every } from '../runtime/clock.js';
import type { Disk } from '../runtime/disk.js';
import { joinPath } from '../runtime/disk.js';
import type { Logger } from '../runtime/logger.js';
import { openLog } from '../storage/partition-log.js';
import { resolveLogConfig, type LogConfig } from '../storage/log-config.js';
import type { MetadataImage } from '../controller/image.js';
import { emptyImage, isBrokerActive } from '../controller/image.js';
import { topicMinIsr } from '../controller/topic-config.js';
import { sameLogConfig, topicLogConfig } from './topic-log-config.js';
import {
  fetchPurgatoryMax,
  fetchResponseOverheadBytes,
  frameBytesMax,
  isrCheckIntervalMsMax,
  producePurgatoryMax,
  producerEpochMax,
  replicaFetchBackoffMsDefault,
  replicaFetchPartitionBytesDefault,
  replicaFetchResponseBytesDefault,
  replicaFetchResponseSlackMsMax,
  replicaLogMaintenanceMs,
  requestTimeoutMsDefault,
} from '../limits.js';
import type {
  FetchPartitionResponse,
  FetchRequest,
  FetchResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListOffsetsPartitionResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProducePartitionResponse,
  ProduceRequest,
  ProduceResponse,
} from '../wire/data.js';
import { earliestTimestamp, latestTimestamp } from '../wire/data.js';
import { RaftlineError, wireError, type WireError } from '../wire/errors.js';
import { ReplicaFetcher, type FetchSender } from './fetcher.js';
import { invariant } from './isr.js';
import { PartitionReplica, type IsrAnswer, type IsrProposal, type ReplicaHost } from './replica.js';
import { createTailCacheBudget } from './tail-cache.js';

/** The controller as the replica manager needs it (the node sends these over the controller channel). */
export interface ReplicationControllerPort {
  alterPartition(proposal: IsrProposal): Promise<IsrAnswer>;
  allocateProducerIds(): Promise<{ firstProducerId: number; count: number }>;
}

export interface ReplicationSettings {
  /** replica.lag.time.max.ms (Kafka's default 30 s). */
  lagTimeMaxMs: number;
  /** replica.fetch.wait.max.ms (Kafka's default 500 ms). */
  fetchWaitMaxMs: number;
  fetchPartitionMaxBytes: number;
  fetchResponseMaxBytes: number;
  fetchBackoffMs: number;
  /** Allowance for a follower's fetch beyond its long-poll time before it is given up. */
  requestTimeoutMs: number;
}

export const defaultReplicationSettings: ReplicationSettings = Object.freeze({
  lagTimeMaxMs: 30_000,
  fetchWaitMaxMs: 500,
  fetchPartitionMaxBytes: replicaFetchPartitionBytesDefault,
  fetchResponseMaxBytes: replicaFetchResponseBytesDefault,
  fetchBackoffMs: replicaFetchBackoffMsDefault,
  requestTimeoutMs: requestTimeoutMsDefault,
});

export interface ReplicaManagerOptions {
  brokerId: number;
  clusterId: string;
  clock: Clock;
  disk: Disk;
  logger: Logger;
  /** Where partition directories live on the Disk ('' = its root, as the broker's Disk is rooted at the data dir). */
  dataDir?: string;
  settings?: Partial<ReplicationSettings>;
  /** The node's static broker configs (Kafka names): min.insync.replicas and friends under topic overrides. */
  staticConfigs?: ReadonlyMap<string, string>;
  /** Log settings every partition log opens with. */
  logConfig?: Partial<LogConfig>;
  controller: ReplicationControllerPort;
  /** Reaches other brokers' `data.fetch` (the node: RPC clients to their advertised endpoints). */
  send: FetchSender;
  /** The active controller as this node knows it, for `data.metadata`. */
  controllerId?: () => number | null;
}

/** One partition's place on this broker, for describe and specs. */
export interface ReplicaStatus {
  readonly topic: string;
  readonly partitionId: number;
  readonly role: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

const partitionMetadataFile = 'partition.metadata';

export class ReplicaManager {
  readonly brokerId: number;
  private readonly settings: ReplicationSettings;
  private readonly log: Logger;
  private image: MetadataImage = emptyImage;
  /** The last image fully in effect here (replicas opened and assigned): what `data.metadata` answers from. */
  private servedImage: MetadataImage = emptyImage;
  private readonly replicas = new Map<string, PartitionReplica>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private applying: Promise<void> = Promise.resolve();
  private readonly stopIsrCheck: () => void;
  private producerIds: { next: number; end: number } = { next: 0, end: 0 };
  private allocating: Promise<void> | undefined;
  private parkedProduces = 0;
  private parkedFetches = 0;
  private closed = false;
  private readonly replicaHost: ReplicaHost;

  constructor(private readonly options: ReplicaManagerOptions) {
    this.brokerId = options.brokerId;
    this.settings = { ...defaultReplicationSettings, ...options.settings };
    this.replicaHost = {
      brokerId: options.brokerId,
      clock: options.clock,
      logger: options.logger.child({ component: 'replication' }),
      lagTimeMaxMs: this.settings.lagTimeMaxMs,
      alterPartition: (proposal) => options.controller.alterPartition(proposal),
      isBrokerActive: (brokerId) => isBrokerActive(this.image, brokerId),
      roleChanged: (replica) => this.placeInFetcher(replica),
      // One bound for the tail caches of every partition this broker leads.
      tailCacheBudget: createTailCacheBudget(),
    };
    invariant(this.settings.lagTimeMaxMs > 0 && this.settings.fetchWaitMaxMs >= 0, 'replication settings out of range');
    this.log = options.logger.child({ component: 'replication' });
    const checkMs = Math.max(1, Math.min(isrCheckIntervalMsMax, Math.floor(this.settings.lagTimeMaxMs / 2)));
    this.stopIsrCheck = every(options.clock, checkMs, () => {
      for (const replica of this.replicas.values()) replica.checkIsr();
    });
  }

  // ---------------------------------------------------------------------------------------------- image

  /** The image this manager last applied. */
  currentImage(): MetadataImage {
    return this.image;
  }

  /**
   * Applies a committed metadata image: opens logs for partitions newly placed here, feeds every hosted partition's
   * state to its chart, and closes (and, for a deleted or re-created topic, removes) the rest. Images are applied in
   * the order given, one at a time; the promise settles when this one is in effect.
   */
  applyImage(image: MetadataImage): Promise<void> {
    // Never rejects: a failure is logged, and the next image is applied on top of whatever did take effect.
    this.applying = this.applying
      .then(() => this.applyImageNow(image))
      .catch((err: unknown) => {
        this.log.error({ err }, 'applying a metadata image failed');
      });
    return this.applying;
  }

  private async applyImageNow(image: MetadataImage): Promise<void> {
    if (this.closed) return;
    // Older or same images change nothing (the follower may publish the same image twice).
    if (this.image !== emptyImage && image.offset <= this.image.offset) return;
    this.image = image;
    const wanted = new Set<string>();
    for (const topic of image.topicsByName.values()) {
      for (const [partitionId, p] of topic.partitions.entries()) {
        if (!p.replicas.includes(this.brokerId)) continue;
        const key = `${topic.name}-${partitionId}`;
        wanted.add(key);
        let replica = this.replicas.get(key);
        if (replica !== undefined && replica.topicId !== topic.topicId) {
          await this.dropReplica(replica, true);
          replica = undefined;
        }
        if (replica !== undefined) this.reconfigureLog(replica);
        replica ??= await this.openReplica(topic.name, topic.topicId, partitionId);
        replica.assign({ leaderId: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, replicas: p.replicas, isr: p.isr });
      }
    }
    for (const replica of [...this.replicas.values()]) {
      if (wanted.has(replica.key)) continue;
      // Deleted (its id is gone) → remove the data; moved elsewhere → remove too: a later reassignment back starts
      // from the leader's log, as Kafka's StopReplica(delete=true) does.
      await this.dropReplica(replica, true);
    }
    // Clients are told about a partition only once this broker can serve its part in it.
    this.servedImage = image;
  }

  private async openReplica(topic: string, topicId: string, partitionId: number): Promise<PartitionReplica> {
    const disk = this.options.disk;
    const dir = joinPath(this.options.dataDir ?? '', `${topic}-${partitionId}`);
    const metaPath = joinPath(dir, partitionMetadataFile);
    if (await disk.exists(metaPath)) {
      const recorded = Buffer.from(await disk.readFile(metaPath)).toString('utf8').trim();
      if (recorded !== `topic_id: ${topicId}`) {
        // A log left by an earlier topic of the same name: never serve it as this topic's.
        this.log.warn({ dir, recorded, topicId }, 'removing a partition directory of an older topic with the same name');
        await disk.removeDir(dir);
        await disk.syncDir(this.options.dataDir === undefined || this.options.dataDir === '' ? '.' : this.options.dataDir);
      }
    }
    const partitionLog = await openLog({ disk, dir, clock: this.options.clock, log: this.log, config: this.logConfigOf(topic) });
    if (!(await disk.exists(metaPath))) await disk.writeFileAtomic(metaPath, Buffer.from(`topic_id: ${topicId}\n`, 'utf8'));
    const replica = new PartitionReplica(topic, topicId, partitionId, partitionLog, this.replicaHost, () => this.minInsyncReplicas(topic));
    await replica.rebuildProducerState();
    // Retention, time-based flushes and compaction run on every replica, leader or follower (as in Kafka); close stops it.
    partitionLog.startMaintenance(replicaLogMaintenanceMs);
    this.replicas.set(replica.key, replica);
    this.log.info({ partition: replica.key, logEndOffset: partitionLog.logEndOffset }, 'opened replica');
    return replica;
  }

  private async dropReplica(replica: PartitionReplica, deleteData: boolean): Promise<void> {
    this.replicas.delete(replica.key);
    for (const fetcher of this.fetchers.values()) fetcher.remove(replica);
    await replica.close();
    if (deleteData) await this.options.disk.removeDir(replica.partitionLog.dir);
    this.log.info({ partition: replica.key, deleteData }, 'dropped replica');
  }

  /** The log settings of `topic`'s partitions here: the node's, with the topic's effective configs on top. */
  private logConfigOf(topic: string): Partial<LogConfig> {
    return topicLogConfig(this.image, topic, this.options.logConfig ?? {});
  }

  /** A topic config changed (retention, segment size, max.message.bytes, cleanup policy): its open logs follow it. */
  private reconfigureLog(replica: PartitionReplica): void {
    // Whole settings, defaults included: a deleted override must fall back as far as a fresh open would.
    const wanted = resolveLogConfig(this.logConfigOf(replica.topic));
    const current = replica.partitionLog.config;
    if (sameLogConfig(wanted, current)) return;
    const changed = (Object.keys(wanted) as Array<keyof LogConfig>).filter((k) => wanted[k] !== current[k]);
    replica.partitionLog.reconfigure(wanted);
    this.log.info({ partition: replica.key, changed: Object.fromEntries(changed.map((k) => [k, String(wanted[k])])) }, 'log settings follow the topic config');
  }

  private minInsyncReplicas(topic: string): number {
    if (!this.image.topicsByName.has(topic)) return 1;
    return topicMinIsr(this.image, topic, this.options.staticConfigs);
  }


  private placeInFetcher(replica: PartitionReplica): void {
    const follows = replica.currentRole === 'follower' && replica.leaderId >= 0 && !this.closed;
    for (const [leaderId, fetcher] of this.fetchers) {
      if (follows && leaderId === replica.leaderId) continue;
      fetcher.remove(replica);
    }
    if (!follows) return;
    let fetcher = this.fetchers.get(replica.leaderId);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher(replica.leaderId, {
        brokerId: this.brokerId,
        clock: this.options.clock,
        logger: this.log,
        send: this.options.send,
        waitMaxMs: this.settings.fetchWaitMaxMs,
        partitionMaxBytes: this.settings.fetchPartitionMaxBytes,
        responseMaxBytes: this.settings.fetchResponseMaxBytes,
        backoffMs: this.settings.fetchBackoffMs,
        requestTimeoutMs: Math.min(this.settings.requestTimeoutMs, replicaFetchResponseSlackMsMax),
      });
      this.fetchers.set(replica.leaderId, fetcher);
    }
    if (!fetcher.has(replica)) fetcher.add(replica);
  }

  // ---------------------------------------------------------------------------------------------- inspection

  replica(topic: string, partitionId: number): PartitionReplica | undefined {
    return this.replicas.get(`${topic}-${partitionId}`);
  }

  status(): ReplicaStatus[] {
    return [...this.replicas.values()]
      .map((r) => ({
        topic: r.topic,
        partitionId: r.partitionId,
        role: r.currentRole,
        leaderId: r.leaderId,
        leaderEpoch: r.leaderEpoch,
        isr: r.isr,
        highWatermark: r.highWatermark,
        logStartOffset: r.logStartOffset,
        logEndOffset: r.logEndOffset,
      }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partitionId - b.partitionId));
  }

  /** Why a partition this broker cannot serve is not here: the topic or partition is unknown, or another broker has it. */
  private missing(topic: string, partitionId: number): RaftlineError {
    const t = this.image.topicsByName.get(topic);
    if (t === undefined || t.partitions[partitionId] === undefined) {
      return new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${partitionId} does not exist (metadata offset ${this.image.offset})`);
    }
    return new RaftlineError('NOT_LEADER_OR_FOLLOWER', `broker ${this.brokerId} does not host ${topic}-${partitionId}; the leader is ${t.partitions[partitionId]!.leader}`);
  }

  private lookup(topic: string, topicId: string | undefined, partitionId: number): PartitionReplica {
    const replica = this.replicas.get(`${topic}-${partitionId}`);
    if (replica === undefined) throw this.missing(topic, partitionId);
    if (topicId !== undefined && topicId !== replica.topicId) {
      throw new RaftlineError('INCONSISTENT_TOPIC_ID', `${topic} has id ${replica.topicId} here, the request says ${topicId}`);
    }
    return replica;
  }

  // ---------------------------------------------------------------------------------------------- produce

  /** Produce: every partition is appended (in parallel); acks=all answers wait for the high watermark. */
  async produce(request: ProduceRequest): Promise<ProduceResponse> {
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(topic.partitions.map((p) => this.producePartition(topic.name, topic.topicId, p.partitionId, p.records, request.acks, request.timeoutMs))),
      })),
    );
    return { topics };
  }

  private async producePartition(topic: string, topicId: string | undefined, partitionId: number, records: Uint8Array, acks: 0 | 1 | -1, timeoutMs: number): Promise<ProducePartitionResponse> {
    const failed = (error: unknown, replica?: PartitionReplica): ProducePartitionResponse => ({
      partitionId,
      error: toWireError(error, this.log),
      baseOffset: -1,
      logAppendTime: -1,
      logStartOffset: replica?.logStartOffset ?? -1,
    });
    let replica: PartitionReplica;
    try {
      replica = this.lookup(topic, topicId, partitionId);
      replica.requireRole('leader');
    } catch (err) {
      return failed(err);
    }
    try {
      const appended = await replica.appendAsLeader(records, acks);
      if (acks === -1) {
        if (this.parkedProduces >= producePurgatoryMax) throw new RaftlineError('THROTTLING_QUOTA_EXCEEDED', `${producePurgatoryMax} produce requests already wait for replication`);
        this.parkedProduces++;
        let error: RaftlineError | null;
        try {
          error = await replica.waitForReplication(appended.lastOffset, timeoutMs);
        } finally {
          this.parkedProduces--;
        }
        if (error !== null) return failed(error, replica);
      }
      return { partitionId, error: null, baseOffset: appended.baseOffset, logAppendTime: -1, logStartOffset: replica.logStartOffset };
    } catch (err) {
      return failed(err, replica);
    }
  }

  // ---------------------------------------------------------------------------------------------- fetch

  /**
   * Fetch for consumers (replicaId -1: up to the high watermark) and followers (their broker id: up to the log end,
   * recording their progress, answering divergingEpoch when their log diverges). Held up to maxWaitMs while fewer
   * than minBytes are available (long poll); woken when a fetched partition's log end or high watermark moves.
   */
  async fetch(request: FetchRequest): Promise<FetchResponse> {
    const clock = this.options.clock;
    const deadline = clock.monotonicMs() + request.maxWaitMs;
    let firstPass = true;
    for (;;) {
      const { response, bytes, errors, involved } = await this.readFetch(request, firstPass);
      firstPass = false;
      const remaining = deadline - clock.monotonicMs();
      if (bytes >= request.minBytes || errors || remaining <= 0 || request.maxWaitMs === 0 || this.closed || this.parkedFetches >= fetchPurgatoryMax) {
        return response;
      }
      this.parkedFetches++;
      try {
        // A follower reads up to the log end: a high-watermark move alone does not give it bytes.
        await this.waitForChange(involved, remaining, request.replicaId < 0);
      } finally {
        this.parkedFetches--;
      }
    }
  }

  private waitForChange(replicas: readonly PartitionReplica[], timeoutMs: number, highWatermark: boolean): Promise<void> {
    const clock = this.options.clock;
    return new Promise((resolve) => {
      const unsubscribes: Array<() => void> = [];
      const timers: TimerHandle[] = [];
      const done = (): void => {
        for (const u of unsubscribes) u();
        for (const t of timers) clock.clearTimeout(t);
        resolve();
      };
      timers.push(clock.setTimeout(done, timeoutMs));
      for (const r of replicas) unsubscribes.push(r.onChange(done, highWatermark));
    });
  }

  private async readFetch(request: FetchRequest, firstPass: boolean): Promise<{ response: FetchResponse; bytes: number; errors: boolean; involved: PartitionReplica[] }> {
    const isFollower = request.replicaId >= 0;
    // The response must fit one frame with its envelope: the byte budget stays a little under the frame limit.
    let budget = Math.min(request.maxBytes, frameBytesMax - fetchResponseOverheadBytes);
    let bytes = 0;
    let errors = false;
    const involved: PartitionReplica[] = [];
    const topics: FetchResponse['topics'] = [];
    for (const topic of request.topics) {
      const partitions: FetchPartitionResponse[] = [];
      for (const p of topic.partitions) {
        let replica: PartitionReplica | undefined;
        try {
          replica = this.lookup(topic.name, topic.topicId, p.partitionId);
          if (replica.currentRole !== 'leader') {
            const error = new RaftlineError('NOT_LEADER_OR_FOLLOWER', `broker ${this.brokerId} does not lead ${replica.key} (leader ${replica.leaderId}, epoch ${replica.leaderEpoch})`);
            partitions.push({ ...emptyFetch(p.partitionId, error, this.log), currentLeader: { leaderId: replica.leaderId, leaderEpoch: replica.leaderEpoch } });
            errors = true;
            continue;
          }
          replica.checkLeaderEpoch(p.currentLeaderEpoch);
          involved.push(replica);
          if (isFollower) {
            if (!replica.replicas.includes(request.replicaId)) {
              // Only assigned replicas may read past the high watermark.
              throw new RaftlineError('REPLICA_NOT_AVAILABLE', `broker ${request.replicaId} is not a replica of ${replica.key}`);
            }
            const diverging = replica.divergence(p.lastFetchedEpoch, p.fetchOffset);
            if (diverging !== undefined) {
              partitions.push({ ...this.partitionHeader(replica, p.partitionId), divergingEpoch: diverging, records: new Uint8Array(0) });
              errors = true;
              continue;
            }
            if (p.fetchOffset > replica.logEndOffset || p.fetchOffset < replica.logStartOffset) {
              throw new RaftlineError('OFFSET_OUT_OF_RANGE', `${replica.key}: offset ${p.fetchOffset} is outside [${replica.logStartOffset}, ${replica.logEndOffset}]`);
            }
            if (firstPass) replica.recordFollowerFetch(request.replicaId, p.fetchOffset);
          }
          const limit = Math.min(p.partitionMaxBytes, budget);
          const records = limit > 0 || bytes === 0 ? await replica.read(p.fetchOffset, limit, isFollower ? 'log-end' : 'high-watermark', bytes === 0) : new Uint8Array(0);
          budget = Math.max(0, budget - records.byteLength);
          bytes += records.byteLength;
          partitions.push({ ...this.partitionHeader(replica, p.partitionId), records });
        } catch (err) {
          errors = true;
          const header = replica === undefined ? {} : { highWatermark: replica.highWatermark, lastStableOffset: replica.highWatermark, logStartOffset: replica.logStartOffset };
          const leader = replica === undefined ? {} : { currentLeader: { leaderId: replica.leaderId, leaderEpoch: replica.leaderEpoch } };
          partitions.push({ ...emptyFetch(p.partitionId, err, this.log), ...header, ...leader });
        }
      }
      topics.push({ name: topic.name, ...(topic.topicId === undefined ? {} : { topicId: topic.topicId }), partitions });
    }
    return { response: { topics }, bytes, errors, involved };
  }

  private partitionHeader(replica: PartitionReplica, partitionId: number): Omit<FetchPartitionResponse, 'records'> {
    return { partitionId, error: null, highWatermark: replica.highWatermark, lastStableOffset: replica.highWatermark, logStartOffset: replica.logStartOffset };
  }

  // ---------------------------------------------------------------------------------------------- list offsets

  /** ListOffsets: -2 the log start, -1 the high watermark, otherwise the first offset with a timestamp >= the one asked. */
  async listOffsets(request: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const topics: ListOffsetsResponse['topics'] = [];
    for (const topic of request.topics) {
      const partitions: ListOffsetsPartitionResponse[] = [];
      for (const p of topic.partitions) {
        try {
          const replica = this.lookup(topic.name, topic.topicId, p.partitionId);
          replica.requireRole('leader');
          replica.checkLeaderEpoch(p.currentLeaderEpoch);
          const epochAt = (offset: number): number => epochOf(replica.partitionLog.epochEntries, offset);
          if (p.timestamp === earliestTimestamp) {
            partitions.push({ partitionId: p.partitionId, error: null, timestamp: -1, offset: replica.logStartOffset, leaderEpoch: epochAt(replica.logStartOffset) });
          } else if (p.timestamp === latestTimestamp) {
            if (replica.highWatermark < replica.leaderEpochStartOffset) {
              // KIP-207: a new leader whose high watermark has not yet caught up with its own log would answer an
              // offset below what the old leader may have shown.
              throw new RaftlineError('OFFSET_NOT_AVAILABLE', `${replica.key}: the new leader has not established its high watermark yet`);
            }
            const hw = replica.highWatermark;
            partitions.push({ partitionId: p.partitionId, error: null, timestamp: -1, offset: hw, leaderEpoch: hw > 0 ? epochAt(hw - 1) : -1 });
          } else {
            const found = await replica.partitionLog.offsetForTimestamp(p.timestamp);
            if (found === undefined || found.offset >= replica.highWatermark) {
              partitions.push({ partitionId: p.partitionId, error: null, timestamp: -1, offset: -1, leaderEpoch: -1 });
            } else {
              partitions.push({ partitionId: p.partitionId, error: null, timestamp: found.timestamp, offset: found.offset, leaderEpoch: epochAt(found.offset) });
            }
          }
        } catch (err) {
          partitions.push({ partitionId: p.partitionId, error: toWireError(err, this.log), timestamp: -1, offset: -1, leaderEpoch: -1 });
        }
      }
      topics.push({ name: topic.name, partitions });
    }
    return { topics };
  }

  // ---------------------------------------------------------------------------------------------- producer ids

  /**
   * InitProducerId (idempotence without transactions): the next id of this broker's block, epoch 0; or, for a producer
   * naming its current id and epoch (KIP-360), the same id with the next epoch. The bump needs no controller: the id is
   * the producer's own, and every partition refuses the older epoch from then on (INVALID_PRODUCER_EPOCH) and takes the
   * new one only from sequence 0. An exhausted epoch gets a fresh id, as in Kafka.
   */
  async initProducerId(request: InitProducerIdRequest = {}): Promise<InitProducerIdResponse> {
    if (request.producerId !== undefined && request.producerEpoch !== undefined) {
      invariant(request.producerId >= 0 && request.producerEpoch >= 0, 'epoch bump of a negative producer id or epoch');
      if (request.producerEpoch < producerEpochMax) return { producerId: request.producerId, producerEpoch: request.producerEpoch + 1 };
    }
    while (this.producerIds.next >= this.producerIds.end) {
      this.allocating ??= this.options.controller.allocateProducerIds().then(
        (block) => {
          invariant(block.count > 0 && block.firstProducerId >= this.producerIds.end, () => `producer id block ${JSON.stringify(block)} overlaps the previous one`);
          this.producerIds = { next: block.firstProducerId, end: block.firstProducerId + block.count };
          this.allocating = undefined;
        },
        (err: unknown) => {
          this.allocating = undefined;
          throw err;
        },
      );
      await this.allocating;
    }
    const producerId = this.producerIds.next++;
    return { producerId, producerEpoch: 0 };
  }

  // ---------------------------------------------------------------------------------------------- metadata

  /** Metadata for clients, from this broker's own image: unfenced brokers' endpoints and every partition's leader. */
  metadata(request: MetadataRequest): MetadataResponse {
    const image = this.servedImage;
    const brokers = [...image.brokers.values()]
      .filter((b) => !b.fenced && b.endpoints.length > 0)
      .sort((a, b) => a.brokerId - b.brokerId)
      .map((b) => ({ brokerId: b.brokerId, host: b.endpoints[0]!.host, port: b.endpoints[0]!.port, rack: b.rack }));
    const names = request.topics ?? [...image.topicsByName.keys()].sort();
    const topics = names.map((name) => {
      const t = image.topicsByName.get(name);
      if (t === undefined) {
        return { name, topicId: null, error: wireError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(name)} does not exist`), partitions: [] };
      }
      return {
        name,
        topicId: t.topicId,
        error: null,
        partitions: t.partitions.map((p, partitionId) => ({
          partitionId,
          error: p.leader === -1 ? wireError('LEADER_NOT_AVAILABLE', `${name}-${partitionId} has no leader`) : null,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: p.replicas.filter((r) => image.brokers.get(r)?.fenced !== false),
        })),
      };
    });
    return { clusterId: this.options.clusterId, controllerId: this.options.controllerId?.() ?? null, metadataOffset: image.offset, brokers, topics };
  }

  // ---------------------------------------------------------------------------------------------- lifecycle

  /**
   * Stops fetchers and the ISR check, answers every waiter, and closes every log. Resolves true when every log was
   * flushed as it closed (none was offline after a failed sync): only then may the broker claim a clean shutdown.
   */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    this.stopIsrCheck();
    await this.applying;
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    const replicas = [...this.replicas.values()];
    await Promise.all(replicas.map((r) => r.close()));
    this.replicas.clear();
    return replicas.every((r) => !r.partitionLog.isOffline);
  }
}

function epochOf(entries: ReadonlyArray<{ epoch: number; startOffset: number }>, offset: number): number {
  let epoch = -1;
  for (const e of entries) if (e.startOffset <= offset) epoch = e.epoch;
  return epoch;
}

function emptyFetch(partitionId: number, error: unknown, log: Logger): FetchPartitionResponse {
  return { partitionId, error: toWireError(error, log), highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: new Uint8Array(0) };
}

/** A per-partition error as it travels; anything that is not a RaftlineError is a bug, logged and answered generically. */
function toWireError(error: unknown, log: Logger): WireError {
  if (error instanceof RaftlineError) return error.toWire();
  log.error({ err: error }, 'unexpected error in the data path');
  return wireError('UNKNOWN_SERVER_ERROR');
}
