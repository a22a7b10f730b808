// A follower's fetcher for one source broker (Kafka's ReplicaFetcherThread): one long-poll fetch at a time carrying
// every partition this broker follows from that leader, each with its fetch offset (our log end), last fetched epoch
// and the leader epoch we believe current. Keeps: a response is applied only to a replica that still follows this
// leader in the epoch the request was built in, and each partition's appends and truncations go through that
// replica's own queue, so a fetch racing a role change never writes into a log it no longer follows for.
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { FetchRequest, FetchResponse } from '../wire/data.js';
import { RaftlineError } from '../wire/errors.js';
import type { PartitionReplica } from './replica.js';

/** Sends one `data.fetch` to broker `leaderId` and resolves with its response (or rejects: network, timeout, error). */
export type FetchSender = (leaderId: number, request: FetchRequest, timeoutMs: number) => Promise<FetchResponse>;

export interface FetcherSettings {
  readonly brokerId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly send: FetchSender;
  /** replica.fetch.wait.max.ms: how long the leader may hold our fetch while it has nothing new. */
  readonly waitMaxMs: number;
  /** replica.fetch.max.bytes per partition, replica.fetch.response.max.bytes per request. */
  readonly partitionMaxBytes: number;
  readonly responseMaxBytes: number;
  /** replica.fetch.backoff.ms: pause after a failed fetch, or for a partition whose leader answered an error. */
  readonly backoffMs: number;
  /** Allowance on top of waitMaxMs before a fetch is given up (request.timeout.ms). */
  readonly requestTimeoutMs: number;
}

interface FetchedPartition {
  readonly replica: PartitionReplica;
  retryAtMs: number;
}

export class ReplicaFetcher {
  private readonly partitions = new Map<string, FetchedPartition>();
  private readonly log: Logger;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Settles when the loop has exited (after stop, once the fetch in flight, if any, settles). */
  get done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
  private wakeUp: (() => void) | undefined;
  private wakeTimer: TimerHandle | undefined;
  /** Fetches completed (successful or not), for specs and metrics. */
  rounds = 0;

  constructor(
    readonly leaderId: number,
    private readonly settings: FetcherSettings,
  ) {
    this.log = settings.logger.child({ fetcher: leaderId });
  }

  get size(): number {
    return this.partitions.size;
  }

  has(replica: PartitionReplica): boolean {
    return this.partitions.get(replica.key)?.replica === replica;
  }

  add(replica: PartitionReplica): void {
    this.partitions.set(replica.key, { replica, retryAtMs: 0 });
    this.running ??= this.run();
    this.wake();
  }

  remove(replica: PartitionReplica): void {
    if (this.partitions.get(replica.key)?.replica === replica) this.partitions.delete(replica.key);
  }

  /**
   * Stops fetching. A fetch in flight is not waited for (the leader may hold it for its whole long poll, or be gone):
   * its response, whenever it comes, is dropped.
   */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  private wake(): void {
    const fn = this.wakeUp;
    this.wakeUp = undefined;
    if (this.wakeTimer !== undefined) this.settings.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    fn?.();
  }

  /** Sleeps `ms` on the clock, or until woken (a partition added, the fetcher stopped). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.wakeTimer = this.settings.clock.setTimeout(() => this.wake(), ms);
    });
  }

  private async run(): Promise<void> {
    const { clock } = this.settings;
    while (!this.stopped) {
      const now = clock.monotonicMs();
      const ready = [...this.partitions.values()].filter((p) => p.retryAtMs <= now);
      if (ready.length === 0) {
        const next = Math.min(...[...this.partitions.values()].map((p) => p.retryAtMs));
        await this.pause(Number.isFinite(next) ? Math.max(1, next - now) : 60_000);
        continue;
      }
      const epochs = new Map<string, number>();
      const byTopic = new Map<string, FetchRequest['topics'][number]>();
      for (const { replica } of ready) {
        epochs.set(replica.key, replica.leaderEpoch);
        let topic = byTopic.get(replica.topic);
        if (topic === undefined) {
          topic = { name: replica.topic, topicId: replica.topicId, partitions: [] };
          byTopic.set(replica.topic, topic);
        }
        const log = replica.partitionLog;
        topic.partitions.push({
          partitionId: replica.partitionId,
          fetchOffset: log.logEndOffset,
          currentLeaderEpoch: replica.leaderEpoch,
          lastFetchedEpoch: log.latestEpoch,
          logStartOffset: log.logStartOffset,
          partitionMaxBytes: this.settings.partitionMaxBytes,
        });
      }
      const request: FetchRequest = {
        replicaId: this.settings.brokerId,
        maxWaitMs: this.settings.waitMaxMs,
        minBytes: 1,
        maxBytes: this.settings.responseMaxBytes,
        topics: [...byTopic.values()],
      };
      let response: FetchResponse;
      try {
        response = await this.settings.send(this.leaderId, request, this.settings.waitMaxMs + this.settings.requestTimeoutMs);
      } catch (err) {
        this.rounds++;
        if (this.stopped) break;
        this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'fetch failed; backing off');
        await this.pause(this.settings.backoffMs);
        continue;
      }
      this.rounds++;
      if (this.stopped) break;
      await Promise.all(
        response.topics.flatMap((topic) =>
          topic.partitions.map((p) => this.apply(`${topic.name}-${p.partitionId}`, epochs.get(`${topic.name}-${p.partitionId}`), p)),
        ),
      );
    }
  }

  private async apply(key: string, epoch: number | undefined, p: FetchResponse['topics'][number]['partitions'][number]): Promise<void> {
    const entry = this.partitions.get(key);
    if (entry === undefined || epoch === undefined || entry.replica.leaderEpoch !== epoch || entry.replica.currentRole !== 'follower') return;
    const { replica } = entry;
    try {
      if (p.error !== null) {
        if (p.error.code === 'OFFSET_OUT_OF_RANGE') {
          await replica.resetAfterOutOfRange(p.logStartOffset, p.highWatermark, epoch);
          return;
        }
        // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION: the leader's image and ours
        // disagree for now; the next metadata update settles it. Until then, ask less often.
        entry.retryAtMs = this.settings.clock.monotonicMs() + this.settings.backoffMs;
        this.log.debug({ partition: key, code: p.error.code }, 'leader refused the partition; backing off');
        return;
      }
      if (p.divergingEpoch !== undefined) {
        await replica.truncateOnDivergence(p.divergingEpoch.epoch, p.divergingEpoch.endOffset, epoch);
        return;
      }
      await replica.appendAsFollower(p.records, p.highWatermark, epoch);
    } catch (err) {
      entry.retryAtMs = this.settings.clock.monotonicMs() + this.settings.backoffMs;
      const code = err instanceof RaftlineError ? err.code : undefined;
      this.log.warn({ partition: key, code, err: err instanceof Error ? err.message : String(err) }, 'applying fetched data failed');
    }
  }
}
