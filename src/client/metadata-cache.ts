// The client's view of the cluster: brokers, and each wanted topic's partitions with their leaders. Invariants: at
// most one refresh is in flight (callers share it); refreshes are spaced by `refreshBackoffMs` so a storm of
// NOT_LEADER_OR_FOLLOWER answers costs one metadata request, not one per batch; a leader is only reported when the
// cluster named a broker it also listed (so a send always has an address).
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { ErrorCode } from '../wire/errors.js';
import type { BrokerNode, ClientChannel, ClusterMetadata, PartitionMetadata, TopicMetadata } from './channel.js';

/** Broker answers after which a partition's leader may have moved or gone: the client refreshes metadata before retrying. */
export const leaderMayHaveMovedCodes: readonly ErrorCode[] = [
  'NOT_LEADER_OR_FOLLOWER',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'NETWORK_EXCEPTION',
  'REQUEST_TIMED_OUT',
  'KAFKA_STORAGE_ERROR',
];

export class MetadataCache {
  private current: ClusterMetadata = { brokers: new Map(), topics: new Map() };
  private readonly wanted = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private stale = true;
  /** Bumped on every refresh that landed: lets waiters tell a new view from the one they saw. */
  version = 0;

  constructor(
    private readonly channel: ClientChannel,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly refreshBackoffMs: number,
    private readonly maxAgeMs: number,
  ) {}

  /** Adds topics this client cares about; a topic not yet known makes the view stale. */
  want(topics: Iterable<string>): void {
    for (const t of topics) {
      if (!this.wanted.has(t)) {
        this.wanted.add(t);
        if (!this.current.topics.has(t)) this.stale = true;
      }
    }
  }

  /** Something answered NOT_LEADER_OR_FOLLOWER (or the like): refresh at the next chance. */
  markStale(): void {
    this.stale = true;
  }

  get isStale(): boolean {
    return this.stale || this.clock.monotonicMs() - this.lastRefreshMs >= this.maxAgeMs;
  }

  topic(name: string): TopicMetadata | undefined {
    return this.current.topics.get(name);
  }

  partition(topic: string, partition: number): PartitionMetadata | undefined {
    return this.current.topics.get(topic)?.partitions.find((p) => p.partition === partition);
  }

  /** The broker leading the partition now, if known and reachable by address. */
  leader(topic: string, partition: number): BrokerNode | undefined {
    const p = this.partition(topic, partition);
    if (p === undefined || p.leader < 0) return undefined;
    return this.current.brokers.get(p.leader);
  }

  /** Partitions of a topic whose leader is known (what the sticky partitioner prefers). */
  availablePartitions(topic: string): number[] {
    const t = this.current.topics.get(topic);
    if (t === undefined) return [];
    return t.partitions.filter((p) => p.leader >= 0 && this.current.brokers.has(p.leader)).map((p) => p.partition);
  }

  brokers(): BrokerNode[] {
    return [...this.current.brokers.values()];
  }

  /** Milliseconds until a refresh may start (0: now). */
  refreshDelayMs(): number {
    return Math.max(0, this.lastRefreshMs + this.refreshBackoffMs - this.clock.monotonicMs());
  }

  /**
   * Refreshes the wanted topics if the view is stale and the back-off allows; resolves when the refresh in flight
   * (if any) is done. Never rejects: a failed refresh leaves the view stale and is logged.
   */
  refreshIfNeeded(force = false): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    if (!force && !this.isStale) return Promise.resolve();
    if (this.refreshDelayMs() > 0) return Promise.resolve();
    this.lastRefreshMs = this.clock.monotonicMs();
    const topics = [...this.wanted].sort();
    this.refreshing = this.channel
      .metadata(topics)
      .then(
        (view) => {
          this.current = view;
          // Judge staleness over what is wanted now: topics added while this refresh was out are not in its answer.
          this.stale = [...this.wanted].some((t) => {
            const meta = view.topics.get(t);
            return meta === undefined || meta.error !== null || meta.partitions.some((p) => p.leader < 0 || !view.brokers.has(p.leader));
          });
          this.version++;
        },
        (err: unknown) => {
          this.stale = true;
          this.log.debug({ err }, 'client: metadata refresh failed');
        },
      )
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
