// The Consumer (no groups yet): manually assigned partitions, a position per partition, fetches to each partition's
// leader (one in flight per broker, prefetching while the application works), and `poll` handing out decoded
// records in offset order. Invariants: a partition's records are returned in increasing offset order with no offset
// twice unless the application seeks back; a fetch answered after a seek is discarded (its offsets are stale);
// buffered bytes are bounded by fetch.max.bytes; only the runtime ports are used, so the simulator runs this code.
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { batchesIn, decodeRecordsInto, type RecordHeader } from '../storage/record-batch.js';
import { RaftlineError, type ErrorCode } from '../wire/errors.js';
import { consumerAssignedPartitionsMax, consumerFetchBytesMax, consumerPollRecordsMax, dataFetchWaitMsMax } from '../limits.js';
import { earliestTimestamp, latestTimestamp, whenSettled, type BrokerNode, type ClientChannel, type FetchPartitionResult } from './channel.js';
import { ClientClosedError, ClientConfigError, OffsetOutOfRangeError } from './errors.js';
import { leaderMayHaveMovedCodes, MetadataCache } from './metadata-cache.js';
import { tpKey, type TopicPartition } from './record-accumulator.js';

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConsumerOptions {
  clientId?: string;
  /** Where to start without a position, or after OFFSET_OUT_OF_RANGE: earliest, latest (default), none (poll throws). */
  autoOffsetReset?: AutoOffsetReset;
  /** fetch.max.wait.ms, default 500. */
  fetchMaxWaitMs?: number;
  /** fetch.min.bytes, default 1. */
  fetchMinBytes?: number;
  /** fetch.max.bytes, default 8 MiB (a fetch response must fit in one frame): per fetch, and about what is buffered. */
  fetchMaxBytes?: number;
  /**
   * max.partition.fetch.bytes, default 1 MiB (Kafka's). Larger is not faster: the transport joins each response into
   * fresh memory, and responses of several MiB cost the client about twice the CPU per MB (docs/performance.md).
   */
  maxPartitionFetchBytes?: number;
  /** max.poll.records, default 500. */
  maxPollRecords?: number;
  retryBackoffMs?: number;
  metadataMaxAgeMs?: number;
}

export interface ConsumerDeps {
  channel: ClientChannel;
  clock: Clock;
  log: Logger;
}

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** The high watermark the fetch response that carried this record gave (the record lies below it). */
  highWatermark: number;
}

interface PartitionState {
  readonly tp: TopicPartition;
  /** The offset of the next record to return; null until reset. */
  position: number | null;
  /** A reset asked for (seekToBeginning/End, auto.offset.reset) and not yet resolved. */
  resetTo: 'earliest' | 'latest' | null;
  paused: boolean;
  highWatermark: number;
  /** Bumped by every seek: a fetch sent before it is stale. */
  epoch: number;
  /** Not before this monotonic time (after a failed fetch or reset for this partition). */
  backoffUntilMs: number;
}

/**
 * One fetch response's records for one partition, decoded a batch at a time as `poll` takes them: records are made
 * just before the application gets them, so they die young instead of outliving several scavenges in this buffer
 * (which promoted them and made the old-generation GC run for them), and a damaged batch is reported by the poll
 * that reaches it.
 */
interface Buffered {
  state: PartitionState;
  epoch: number;
  /** The response's record bytes (whole batches back to back; values are slices of them). */
  data: Uint8Array;
  /** Positions in `data` of the batches still to decode (data batches holding offsets >= fetchOffset), in order. */
  batches: number[];
  nextBatch: number;
  /** The records of the batch being handed out. */
  records: ConsumerRecord[];
  next: number;
  fetchOffset: number;
  highWatermark: number;
  /** The offset after the response's last whole batch: the position once everything in it is taken. */
  endOffset: number;
  /** The last offset handed out from this response: offsets must increase. */
  lastOffset: number;
  bytes: number;
}

const refreshCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...leaderMayHaveMovedCodes, 'REPLICA_NOT_AVAILABLE']);

function intOption(key: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ClientConfigError(key, v, `an integer from ${min} to ${max}`);
  return v;
}

export class Consumer {
  private readonly channel: ClientChannel;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metadata: MetadataCache;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly fetchMaxWaitMs: number;
  private readonly fetchMinBytes: number;
  private readonly fetchMaxBytes: number;
  private readonly maxPartitionFetchBytes: number;
  private readonly maxPollRecords: number;
  private readonly retryBackoffMs: number;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly buffered: Buffered[] = [];
  private bufferedBytes = 0;
  private readonly fetching = new Set<number>();
  private readonly resetting = new Set<string>();
  private readonly nodeBackoffUntil = new Map<number, number>();
  private outOfRange: Array<{ topic: string; partition: number; offset: number }> = [];
  /** A non-retriable error of a whole request, thrown by the next poll. */
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private closed = false;
  /** Fetch requests sent and records returned (for specs and benches). */
  readonly stats = { fetches: 0, records: 0, bytes: 0 };

  constructor(options: ConsumerOptions, deps: ConsumerDeps) {
    this.channel = deps.channel;
    this.clock = deps.clock;
    this.log = deps.log.child({ actor: 'client.consumer', ...(options.clientId === undefined ? {} : { clientId: options.clientId }) });
    const reset = options.autoOffsetReset ?? 'latest';
    if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') throw new ClientConfigError('auto.offset.reset', reset, 'earliest, latest or none');
    this.autoOffsetReset = reset;
    this.fetchMaxWaitMs = intOption('fetch.max.wait.ms', options.fetchMaxWaitMs, 500, 0, dataFetchWaitMsMax);
    this.fetchMinBytes = intOption('fetch.min.bytes', options.fetchMinBytes, 1, 0, consumerFetchBytesMax);
    this.fetchMaxBytes = intOption('fetch.max.bytes', options.fetchMaxBytes, consumerFetchBytesMax, 1, consumerFetchBytesMax);
    this.maxPartitionFetchBytes = intOption('max.partition.fetch.bytes', options.maxPartitionFetchBytes, 1024 * 1024, 1, consumerFetchBytesMax);
    this.maxPollRecords = intOption('max.poll.records', options.maxPollRecords, 500, 1, consumerPollRecordsMax);
    this.retryBackoffMs = intOption('retry.backoff.ms', options.retryBackoffMs, 100, 0, 3_600_000);
    this.metadata = new MetadataCache(this.channel, this.clock, this.log, Math.min(50, this.retryBackoffMs), intOption('metadata.max.age.ms', options.metadataMaxAgeMs, 300_000, 1, 86_400_000));
  }

  // ------------------------------------------------------------------------------------------ assignment

  /** Replaces the assignment. Partitions kept keep their position; new ones start per auto.offset.reset. */
  assign(tps: readonly TopicPartition[]): void {
    this.ensureOpen('assign');
    if (tps.length > consumerAssignedPartitionsMax) throw new RangeError(`assign: at most ${consumerAssignedPartitionsMax} partitions`);
    const next = new Map<string, PartitionState>();
    for (const tp of tps) {
      if (typeof tp.topic !== 'string' || tp.topic.length === 0 || !Number.isSafeInteger(tp.partition) || tp.partition < 0) {
        throw new RangeError(`assign: bad partition ${JSON.stringify(tp)}`);
      }
      const key = tpKey(tp.topic, tp.partition);
      next.set(key, this.partitions.get(key) ?? {
        tp: { topic: tp.topic, partition: tp.partition },
        position: null,
        resetTo: null,
        paused: false,
        highWatermark: -1,
        epoch: 0,
        backoffUntilMs: 0,
      });
    }
    this.partitions.clear();
    for (const [k, v] of next) this.partitions.set(k, v);
    // Drop buffered records of partitions no longer assigned.
    this.dropBuffered((b) => !this.partitions.has(tpKey(b.state.tp.topic, b.state.tp.partition)));
    this.metadata.want(new Set(tps.map((tp) => tp.topic)));
  }

  assignment(): TopicPartition[] {
    return [...this.partitions.values()].map((s) => ({ ...s.tp }));
  }

  /** The next poll returns records of `tp` from `offset` on. */
  seek(tp: TopicPartition, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`seek: offset must be a non-negative integer, got ${offset}`);
    const s = this.state(tp, 'seek');
    s.position = offset;
    s.resetTo = null;
    s.epoch++;
    // Known again from the first fetch after the seek: a reader checking "read up to the high watermark" must not
    // take a value from before it for this pass's.
    s.highWatermark = -1;
    this.dropBuffered((b) => b.state === s);
  }

  /** The next poll starts at the log start of these partitions (default: all assigned). Resolved lazily (ListOffsets). */
  seekToBeginning(tps?: readonly TopicPartition[]): void {
    this.requestReset(tps, 'earliest', 'seekToBeginning');
  }

  /** The next poll starts at the high watermark of these partitions (default: all assigned). */
  seekToEnd(tps?: readonly TopicPartition[]): void {
    this.requestReset(tps, 'latest', 'seekToEnd');
  }

  /** The offset of the next record poll would return for `tp`, resolving a pending reset first. */
  async position(tp: TopicPartition, timeoutMs = 30_000): Promise<number> {
    const s = this.state(tp, 'position');
    const deadline = this.clock.monotonicMs() + timeoutMs;
    while (s.position === null || s.resetTo !== null) {
      if (s.resetTo === null && s.position === null) {
        // Kafka's NoOffsetForPartitionException: no position, and no policy to pick one.
        if (this.autoOffsetReset === 'none') throw new OffsetOutOfRangeError([{ ...tp, offset: -1 }]);
        s.resetTo = this.autoOffsetReset;
      }
      await this.resetPositions();
      if (s.position !== null && s.resetTo === null) break;
      if (this.clock.monotonicMs() >= deadline) throw new RaftlineError('REQUEST_TIMED_OUT', `position of ${tp.topic}-${tp.partition} not known within ${timeoutMs} ms`);
      await this.sleep(Math.min(this.retryBackoffMs, Math.max(0, deadline - this.clock.monotonicMs())));
    }
    return s.position;
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.state(tp, 'pause').paused = true;
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.state(tp, 'resume').paused = false;
    this.notify();
  }

  paused(): TopicPartition[] {
    return [...this.partitions.values()].filter((s) => s.paused).map((s) => ({ ...s.tp }));
  }

  /** The high watermark the last fetch of `tp` reported (-1 before one since the last seek). */
  highWatermark(tp: TopicPartition): number {
    return this.state(tp, 'highWatermark').highWatermark;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffered.length = 0;
    this.bufferedBytes = 0;
    this.notify();
    this.channel.close();
  }

  // ------------------------------------------------------------------------------------------ poll

  /**
   * Records of assigned, unpaused partitions from their positions on, at most max.poll.records; waits up to
   * `timeoutMs` for some to arrive and returns [] if none did. Throws OffsetOutOfRangeError under
   * auto.offset.reset=none, and ClientClosedError after close.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord[]> {
    this.ensureOpen('poll');
    if (!(timeoutMs >= 0)) throw new RangeError(`poll: timeoutMs must be >= 0, got ${timeoutMs}`);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    for (;;) {
      this.throwOutOfRange();
      const records = this.take();
      if (records.length > 0) {
        this.sendFetches(0);
        return records;
      }
      await this.resetPositions();
      this.throwOutOfRange();
      const remaining = deadline - this.clock.monotonicMs();
      if (remaining <= 0) return [];
      if (this.metadata.isStale) await this.metadata.refreshIfNeeded();
      this.sendFetches(Math.min(this.fetchMaxWaitMs, remaining));
      if (this.buffered.length > 0 || this.outOfRange.length > 0) continue;
      await this.waitForProgress(Math.max(1, Math.min(remaining, this.fetchMaxWaitMs + 50, this.metadata.isStale ? this.retryBackoffMs : Number.POSITIVE_INFINITY)));
      if (this.closed) throw new ClientClosedError('poll');
    }
  }

  private take(): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    try {
      this.takeInto(out);
    } catch (err) {
      // A damaged batch: hand out the records before it first; the next poll reaches the batch again and throws.
      if (out.length === 0) throw err;
    }
    this.stats.records += out.length;
    return out;
  }

  private takeInto(out: ConsumerRecord[]): void {
    while (out.length < this.maxPollRecords && this.buffered.length > 0) {
      const b = this.buffered[0]!;
      const s = b.state;
      if (b.epoch !== s.epoch || !this.partitions.has(tpKey(s.tp.topic, s.tp.partition))) {
        this.shiftBuffered();
        continue;
      }
      if (s.paused) {
        // Paused partitions keep their buffered records for later; look at the others.
        const other = this.buffered.findIndex((x) => !x.state.paused);
        if (other < 0) break;
        this.buffered.push(...this.buffered.splice(0, other));
        continue;
      }
      while (out.length < this.maxPollRecords) {
        if (b.next >= b.records.length) {
          if (b.nextBatch >= b.batches.length) break;
          // Decoded before the batch counts as taken: a damaged batch throws from every poll until a seek passes it.
          b.records = this.decodeBatch(b, b.batches[b.nextBatch]!);
          b.nextBatch++;
          b.next = 0;
          continue;
        }
        const r = b.records[b.next++]!;
        // Records below the position were already returned (the fetch began mid-batch): skip them.
        if (s.position !== null && r.offset < s.position) continue;
        if (r.offset <= b.lastOffset) throw new Error(`consumer: offsets of ${s.tp.topic}-${s.tp.partition} do not increase in a fetch`);
        b.lastOffset = r.offset;
        out.push(r);
        s.position = r.offset + 1;
      }
      if (b.next >= b.records.length && b.nextBatch >= b.batches.length) {
        // Control batches or compacted-away offsets after the last record: move past them too.
        if (s.position !== null && s.position < b.endOffset) s.position = b.endOffset;
        this.shiftBuffered();
      }
    }
  }

  private shiftBuffered(): void {
    const b = this.buffered.shift()!;
    this.bufferedBytes -= b.bytes;
    if (this.bufferedBytes < 0) throw new Error('consumer: buffered bytes went negative');
  }

  private dropBuffered(drop: (b: Buffered) => boolean): void {
    const keep = this.buffered.filter((b) => !drop(b));
    this.buffered.length = 0;
    this.buffered.push(...keep);
    this.bufferedBytes = keep.reduce((n, b) => n + b.bytes, 0);
  }

  // ------------------------------------------------------------------------------------------ fetch

  private sendFetches(maxWaitMs: number): void {
    if (this.closed) return;
    const now = this.clock.monotonicMs();
    if (this.bufferedBytes >= this.fetchMaxBytes) return;
    const hasBuffered = new Set(this.buffered.map((b) => b.state));
    const byNode = new Map<number, { node: BrokerNode; states: PartitionState[] }>();
    for (const s of this.partitions.values()) {
      if (s.paused || s.position === null || s.resetTo !== null || hasBuffered.has(s) || s.backoffUntilMs > now) continue;
      const node = this.metadata.leader(s.tp.topic, s.tp.partition);
      if (node === undefined) {
        this.metadata.markStale();
        continue;
      }
      if (this.fetching.has(node.nodeId) || (this.nodeBackoffUntil.get(node.nodeId) ?? 0) > now) continue;
      let entry = byNode.get(node.nodeId);
      if (entry === undefined) {
        entry = { node, states: [] };
        byNode.set(node.nodeId, entry);
      }
      entry.states.push(s);
    }
    for (const { node, states } of byNode.values()) this.fetchFrom(node, states, maxWaitMs);
  }

  private fetchFrom(node: BrokerNode, states: PartitionState[], maxWaitMs: number): void {
    this.fetching.add(node.nodeId);
    this.stats.fetches++;
    const sent = states.map((s) => ({ state: s, epoch: s.epoch, offset: s.position! }));
    const call = {
      maxWaitMs: Math.max(0, Math.floor(maxWaitMs)),
      minBytes: this.fetchMinBytes,
      maxBytes: this.fetchMaxBytes,
      partitions: sent.map(({ state, offset }) => ({
        topic: state.tp.topic,
        partition: state.tp.partition,
        fetchOffset: offset,
        partitionMaxBytes: this.maxPartitionFetchBytes,
        currentLeaderEpoch: -1,
      })),
    };
    const finish = (results: FetchPartitionResult[] | undefined, error: unknown): void => {
      this.fetching.delete(node.nodeId);
      if (this.closed) return;
      if (results === undefined) {
        this.log.debug({ err: error, node: node.nodeId }, 'client: fetch failed');
        // A request the broker refuses outright (not a passing condition) is the application's to see.
        if (error instanceof RaftlineError && !error.retriable) this.failure ??= error;
        this.metadata.markStale();
        this.nodeBackoffUntil.set(node.nodeId, this.clock.monotonicMs() + this.retryBackoffMs);
      } else {
        for (const { state, epoch, offset } of sent) {
          const r = results.find((x) => x.topic === state.tp.topic && x.partition === state.tp.partition);
          if (r === undefined || epoch !== state.epoch || state.position !== offset) continue;
          this.onFetched(state, offset, r);
        }
      }
      this.notify();
    };
    whenSettled(
      () => this.channel.fetch(node, call),
      (results) => finish(results, undefined),
      (err: unknown) => finish(undefined, err),
    );
  }

  private onFetched(s: PartitionState, fetchOffset: number, r: FetchPartitionResult): void {
    if (r.error !== null) {
      const code = r.error.code;
      if (code === 'OFFSET_OUT_OF_RANGE') {
        if (this.autoOffsetReset === 'none') this.outOfRange.push({ ...s.tp, offset: fetchOffset });
        else {
          this.log.info({ topic: s.tp.topic, partition: s.tp.partition, offset: fetchOffset, reset: this.autoOffsetReset }, 'client: offset out of range; resetting');
          s.resetTo = this.autoOffsetReset;
        }
        return;
      }
      if (refreshCodes.has(code) || code === 'OFFSET_NOT_AVAILABLE') this.metadata.markStale();
      else this.log.warn({ topic: s.tp.topic, partition: s.tp.partition, code, message: r.error.message }, 'client: fetch error');
      s.backoffUntilMs = this.clock.monotonicMs() + this.retryBackoffMs;
      return;
    }
    if (r.highWatermark >= 0) s.highWatermark = r.highWatermark;
    // Only the batch headers are read here; records are decoded when poll takes them (see Buffered).
    const batches: number[] = [];
    let endOffset = fetchOffset;
    let previousEnd = -1;
    for (const { header, position } of batchesIn(r.records)) {
      if (header.lastOffset < fetchOffset) continue;
      if (header.baseOffset < previousEnd) throw new Error(`consumer: batches of ${s.tp.topic}-${s.tp.partition} overlap in a fetch`);
      previousEnd = header.lastOffset + 1;
      endOffset = Math.max(endOffset, header.lastOffset + 1);
      if (header.isControl || header.recordCount === 0) continue;
      batches.push(position);
    }
    if (batches.length === 0) {
      // Only control batches or compacted-away offsets: move past them so the next fetch asks for new data.
      if (endOffset > fetchOffset) s.position = endOffset;
      return;
    }
    this.buffered.push({
      state: s,
      epoch: s.epoch,
      data: r.records,
      batches,
      nextBatch: 0,
      records: [],
      next: 0,
      fetchOffset,
      highWatermark: r.highWatermark,
      endOffset,
      lastOffset: -1,
      bytes: r.records.length,
    });
    this.bufferedBytes += r.records.length;
    this.stats.bytes += r.records.length;
  }

  /** The records of the batch at `position` of a buffered response, from its fetch offset on (CRC checked). */
  private decodeBatch(b: Buffered, position: number): ConsumerRecord[] {
    const { topic, partition } = b.state.tp;
    const { fetchOffset, highWatermark } = b;
    const out: ConsumerRecord[] = [];
    decodeRecordsInto(b.data, position, (offset, timestamp, key, value, headers) =>
      offset < fetchOffset ? undefined : { topic, partition, offset, timestamp, key, value, headers, highWatermark }, out);
    return out;
  }

  // ------------------------------------------------------------------------------------------ resets

  private requestReset(tps: readonly TopicPartition[] | undefined, to: 'earliest' | 'latest', what: string): void {
    const states = tps === undefined ? [...this.partitions.values()] : tps.map((tp) => this.state(tp, what));
    for (const s of states) {
      s.resetTo = to;
      s.epoch++;
      s.highWatermark = -1;
    }
    this.dropBuffered((b) => states.includes(b.state));
  }

  /** Resolves pending resets (and first positions) with ListOffsets to each partition's leader. */
  private async resetPositions(): Promise<void> {
    const now = this.clock.monotonicMs();
    const wanted: PartitionState[] = [];
    for (const s of this.partitions.values()) {
      if (s.position === null && s.resetTo === null) {
        if (this.autoOffsetReset === 'none') {
          this.outOfRange.push({ ...s.tp, offset: -1 });
          continue;
        }
        s.resetTo = this.autoOffsetReset;
      }
      if (s.resetTo !== null && s.backoffUntilMs <= now && !this.resetting.has(tpKey(s.tp.topic, s.tp.partition))) wanted.push(s);
    }
    if (wanted.length === 0) return;
    if (this.metadata.isStale) await this.metadata.refreshIfNeeded();
    const byNode = new Map<number, { node: BrokerNode; states: PartitionState[] }>();
    for (const s of wanted) {
      const node = this.metadata.leader(s.tp.topic, s.tp.partition);
      if (node === undefined) {
        this.metadata.markStale();
        s.backoffUntilMs = now + this.retryBackoffMs;
        continue;
      }
      const entry = byNode.get(node.nodeId) ?? { node, states: [] };
      entry.states.push(s);
      byNode.set(node.nodeId, entry);
    }
    await Promise.all(
      [...byNode.values()].map(async ({ node, states }) => {
        const asked = states.map((s) => ({ s, to: s.resetTo!, epoch: s.epoch }));
        for (const s of states) this.resetting.add(tpKey(s.tp.topic, s.tp.partition));
        try {
          const results = await this.channel.listOffsets(node, {
            partitions: asked.map(({ s, to }) => ({ topic: s.tp.topic, partition: s.tp.partition, timestamp: to === 'earliest' ? earliestTimestamp : latestTimestamp })),
          });
          for (const { s, to, epoch } of asked) {
            const r = results.find((x) => x.topic === s.tp.topic && x.partition === s.tp.partition);
            // A seek while the request was out wins over its answer.
            if (s.epoch !== epoch || s.resetTo !== to) continue;
            if (r === undefined || r.error !== null || r.offset < 0) {
              if (r?.error && refreshCodes.has(r.error.code)) this.metadata.markStale();
              s.backoffUntilMs = this.clock.monotonicMs() + this.retryBackoffMs;
              continue;
            }
            s.position = r.offset;
            s.resetTo = null;
            s.epoch++;
          }
        } catch (err) {
          this.log.debug({ err, node: node.nodeId }, 'client: list-offsets failed');
          this.metadata.markStale();
          for (const s of states) s.backoffUntilMs = this.clock.monotonicMs() + this.retryBackoffMs;
        } finally {
          for (const s of states) this.resetting.delete(tpKey(s.tp.topic, s.tp.partition));
        }
      }),
    );
  }

  // ------------------------------------------------------------------------------------------ helpers

  private throwOutOfRange(): void {
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    if (this.outOfRange.length === 0) return;
    const partitions = this.outOfRange;
    this.outOfRange = [];
    throw new OffsetOutOfRangeError(partitions);
  }

  private state(tp: TopicPartition, what: string): PartitionState {
    const s = this.partitions.get(tpKey(tp.topic, tp.partition));
    if (s === undefined) throw new RangeError(`${what}: ${tp.topic}-${tp.partition} is not assigned to this consumer`);
    return s;
  }

  private ensureOpen(what: string): void {
    if (this.closed) throw new ClientClosedError(what);
  }

  private notify(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private waitForProgress(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      // One waiter slot: a second concurrent poll chains the first, so a wake-up reaches both.
      const previous = this.waiter;
      const timer: { handle?: TimerHandle } = {};
      const wake = (): void => {
        if (this.waiter === wake) this.waiter = undefined;
        if (timer.handle !== undefined) this.clock.clearTimeout(timer.handle);
        previous?.();
        resolve();
      };
      this.waiter = wake;
      timer.handle = this.clock.setTimeout(wake, ms);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
