// The Producer: records go into per-partition batches (record-accumulator.ts), a sender drains due batches to each
// partition's leader, and every record settles exactly once — with its offset, or with the error that ended it.
// Invariants: with idempotence (the default) each partition's batches carry gap-free sequence numbers under one
// producer id, at most 5 produce requests are outstanding per broker, and a retried batch is resent only when
// nothing of its partition is in flight, so retries keep the order of sends; a record never waits longer than
// delivery.timeout.ms for its fate. Only the runtime ports are used (Clock, Random; the Network via the channel),
// so the simulator runs this very code.
import { createActor, type Actor } from 'xstate';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { encodeBatch, type CompressionCodec, type RecordHeaderInput } from '../storage/record-batch.js';
import { RaftlineError, isRetriable, type ErrorCode } from '../wire/errors.js';
import {
  producerBufferBytesMax,
  producerInFlightPerConnectionMax,
  producerMetadataWaitRecordsMax,
  producerRequestBytesMax,
  producerUnobservedFailureLogIntervalMs,
} from '../limits.js';
import { whenSettled, type Acks, type BrokerNode, type ClientChannel, type ProducePartitionResult } from './channel.js';
import { BufferExhaustedError, ClientClosedError, ClientConfigError, DeliveryTimeoutError, UnknownTopicError } from './errors.js';
import { leaderMayHaveMovedCodes, MetadataCache } from './metadata-cache.js';
import { producerMachine, type ProducerHost } from './producer-machine.js';
import { ProducerSequences } from './producer-sequences.js';
import { batchOverheadBytes, RecordAccumulator, recordSizeEstimate, tpKey, type PendingRecord, type ProducerBatch, type TopicPartition } from './record-accumulator.js';
import { StickyPartitioner, type PartitionChoice } from './sticky-partitioner.js';

export type Bytesish = Uint8Array | string;

export interface ProducerRecord {
  topic: string;
  key?: Bytesish | null;
  value: Bytesish | null;
  /** Headers as a map (string or byte values) or as a list. */
  headers?: Record<string, Bytesish | null> | readonly RecordHeaderInput[];
  /** Send to this partition instead of asking the partitioner. */
  partition?: number;
  /** Create time in ms (default: the clock's now). */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 with acks=0 (nothing comes back) or for a duplicate the broker did not place. */
  offset: number;
  timestamp: number;
}

export type SendCallback = (error: Error | null, metadata: RecordMetadata | null) => void;

export interface ProducerOptions {
  clientId?: string;
  /** 'all' (-1, the default), 1 or 0. */
  acks?: 'all' | Acks;
  /** Default true; needs acks=all. Left unset with acks 0 or 1 it turns itself off, as Kafka's does. */
  idempotence?: boolean;
  /** linger.ms, default 5 (Kafka 4's default). */
  lingerMs?: number;
  /** batch.size, default 16 KiB. */
  batchSizeBytes?: number;
  /** buffer.memory, default 32 MiB. */
  bufferBytes?: number;
  /** max.request.size, default 1 MiB. */
  maxRequestBytes?: number;
  compression?: CompressionCodec;
  /** retries, default unlimited (bounded by delivery.timeout.ms). */
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** delivery.timeout.ms, default 120 s. */
  deliveryTimeoutMs?: number;
  /** request.timeout.ms, default 30 s: how long the broker may take for acks=all, and we wait for a response. */
  requestTimeoutMs?: number;
  /** max.in.flight.requests.per.connection, default 5 (at most 5 with idempotence). */
  maxInFlightPerConnection?: number;
  /** max.block.ms, default 60 s: how long a record waits for its topic to appear in metadata. */
  maxBlockMs?: number;
  /** metadata.max.age.ms, default 5 min. */
  metadataMaxAgeMs?: number;
  /** How soon after a refresh another may start (Kafka's retry.backoff.ms for metadata), default 50 ms. */
  metadataRefreshBackoffMs?: number;
}

export interface ProducerDeps {
  channel: ClientChannel;
  clock: Clock;
  random: Random;
  log: Logger;
}

interface ResolvedOptions {
  acks: Acks;
  idempotence: boolean;
  lingerMs: number;
  batchSizeBytes: number;
  bufferBytes: number;
  maxRequestBytes: number;
  compression: CompressionCodec;
  retries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  maxBlockMs: number;
  metadataMaxAgeMs: number;
  metadataRefreshBackoffMs: number;
}

function intOption(key: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ClientConfigError(key, v, `an integer from ${min} to ${max}`);
  return v;
}

export function resolveProducerOptions(o: ProducerOptions): ResolvedOptions {
  const acksRaw = o.acks ?? 'all';
  const acks: Acks = acksRaw === 'all' ? -1 : acksRaw;
  if (acks !== -1 && acks !== 0 && acks !== 1) throw new ClientConfigError('acks', acksRaw, "'all', -1, 0 or 1");
  if (o.idempotence === true && acks !== -1) throw new ClientConfigError('acks', acksRaw, "'all' when idempotence is on");
  const idempotence = o.idempotence ?? acks === -1;
  const maxInFlight = intOption('max.in.flight.requests.per.connection', o.maxInFlightPerConnection, 5, 1, idempotence ? producerInFlightPerConnectionMax : 64);
  const retries = intOption('retries', o.retries, Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER);
  if (idempotence && retries === 0) throw new ClientConfigError('retries', retries, 'at least 1 when idempotence is on');
  const compression = o.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip' && compression !== 'brotli') throw new ClientConfigError('compression.type', compression, 'none, gzip or brotli');
  const lingerMs = intOption('linger.ms', o.lingerMs, 5, 0, 600_000);
  const requestTimeoutMs = intOption('request.timeout.ms', o.requestTimeoutMs, 30_000, 1, 300_000);
  const deliveryTimeoutMs = intOption('delivery.timeout.ms', o.deliveryTimeoutMs, 120_000, 1, 2 ** 31 - 1);
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    throw new ClientConfigError('delivery.timeout.ms', deliveryTimeoutMs, `at least linger.ms + request.timeout.ms (${lingerMs + requestTimeoutMs})`);
  }
  const batchSizeBytes = intOption('batch.size', o.batchSizeBytes, 16_384, 1, producerRequestBytesMax);
  const bufferBytes = intOption('buffer.memory', o.bufferBytes, 32 * 1024 * 1024, batchSizeBytes, producerBufferBytesMax);
  return {
    acks,
    idempotence,
    lingerMs,
    batchSizeBytes,
    bufferBytes,
    maxRequestBytes: intOption('max.request.size', o.maxRequestBytes, 1024 * 1024, 1, producerRequestBytesMax),
    compression,
    retries,
    retryBackoffMs: intOption('retry.backoff.ms', o.retryBackoffMs, 100, 0, 3_600_000),
    retryBackoffMaxMs: intOption('retry.backoff.max.ms', o.retryBackoffMaxMs, 1_000, 0, 3_600_000),
    deliveryTimeoutMs,
    requestTimeoutMs,
    maxInFlight,
    maxBlockMs: intOption('max.block.ms', o.maxBlockMs, 60_000, 0, 3_600_000),
    metadataMaxAgeMs: intOption('metadata.max.age.ms', o.metadataMaxAgeMs, 300_000, 1, 86_400_000),
    metadataRefreshBackoffMs: intOption('metadata refresh back-off', o.metadataRefreshBackoffMs, 50, 0, 60_000),
  };
}

/** The settling side of the promise `send()` returns. */
interface Deferred {
  resolve(metadata: RecordMetadata): void;
  reject(error: Error): void;
}

/**
 * One record from `produce()` or `send()` to its fate: the accumulator batches it, and it tells its sender the outcome
 * exactly once. It is the only object the producer keeps per record (no promise unless `send()` made one), and `id`
 * grows with every record accepted, so `flush()` can tell the records sent before it from those sent after.
 */
class OutgoingRecord implements PendingRecord {
  settled = false;
  constructor(
    readonly id: number,
    readonly key: Uint8Array | null,
    readonly value: Uint8Array | null,
    readonly headers: readonly RecordHeaderInput[],
    readonly timestamp: number,
    readonly sizeBytes: number,
    readonly callback: SendCallback | undefined,
    readonly deferred: Deferred | undefined,
  ) {}

  /** Someone learns this record's fate (a callback or a promise); else a failure is only counted and logged. */
  get observed(): boolean {
    return this.callback !== undefined || this.deferred !== undefined;
  }
}

/** A `flush()` waiting for the records with ids up to `upToId`, of which `remaining` have no fate yet. */
interface FlushWaiter {
  readonly upToId: number;
  remaining: number;
  resolve(): void;
}

interface WaitingRecord {
  record: OutgoingRecord;
  topic: string;
  partition: number | undefined;
  sinceMs: number;
}

/** Refusals of an idempotent batch's producer id, epoch or sequence: decided before anything is written. */
const producerStateErrors: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
]);

/** Errors after which the partition's leader may have moved: refresh metadata before the retry. */
const leadershipErrors: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...leaderMayHaveMovedCodes, 'NOT_ENOUGH_REPLICAS']);

function toBytes(v: Bytesish | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Shared by every record without headers, so such a record costs no array. */
const noHeaders: readonly RecordHeaderInput[] = Object.freeze([]);

function toHeaders(h: ProducerRecord['headers']): readonly RecordHeaderInput[] {
  if (h === undefined) return noHeaders;
  if (Array.isArray(h)) return h.length === 0 ? noHeaders : [...(h as readonly RecordHeaderInput[])];
  const entries = Object.entries(h as Record<string, Bytesish | null>);
  return entries.length === 0 ? noHeaders : entries.map(([key, value]) => ({ key, value: toBytes(value) }));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

const ignore = (): void => {};

export type ProducerState = 'connecting' | 'ready' | 'closing' | 'closed' | 'failed';

export class Producer {
  readonly options: ResolvedOptions;
  private readonly channel: ClientChannel;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly metadata: MetadataCache;
  private readonly accumulator: RecordAccumulator<OutgoingRecord>;
  private readonly partitioner: StickyPartitioner;
  private readonly sequences: ProducerSequences;
  private readonly actor: Actor<typeof producerMachine>;
  private state: ProducerState = 'connecting';
  /** The id of the last record accepted; ids grow by one per record, so they order records by send. */
  private lastId = 0;
  /** Records accepted whose fate is not known yet (what close and flush wait for). */
  private incompleteCount = 0;
  /** Unfinished flush() calls, in call order (so in order of upToId). */
  private readonly flushWaiters: FlushWaiter[] = [];
  /** The partition choice of each topic under metadata version `choicesVersion` (see partitionChoice). */
  private readonly choices = new Map<string, PartitionChoice>();
  private choicesVersion = -1;
  /** When a fire-and-forget failure was last logged, and how many went unlogged since (see noteUnobservedFailure). */
  private unobservedLoggedAtMs = Number.NEGATIVE_INFINITY;
  private unobservedUnlogged = 0;
  private readonly waiting: WaitingRecord[] = [];
  private waitingBytes = 0;
  private readonly nodeInFlight = new Map<number, number>();
  private readonly partitionInFlight = new Map<string, number>();
  private wakeQueued = false;
  /**
   * The id and epoch whose sequences broke (KIP-360): the next bootstrap asks for this id's next epoch rather than a
   * new id. Undefined when no bump is due.
   */
  private bumpFrom: { producerId: number; producerEpoch: number } | undefined;
  /** Bootstraps waiting for every produce request to be answered (see inFlightSettled). */
  private readonly settledWaiters: Array<() => void> = [];
  private timer: { handle: TimerHandle; atMs: number } | undefined;
  private closeTimeoutMs = Number.POSITIVE_INFINITY;
  private closedPromise: Promise<void> | undefined;
  private fatal: Error | undefined;
  /**
   * Records acknowledged and failed (of those, failed with neither callback nor promise to hear of it), requests sent,
   * retries and metadata refreshes (for specs, benches and metrics).
   */
  readonly stats = { acknowledged: 0, failed: 0, unobservedFailed: 0, requests: 0, retries: 0, metadataRefreshes: 0 };

  constructor(options: ProducerOptions, deps: ProducerDeps) {
    this.options = resolveProducerOptions(options);
    this.channel = deps.channel;
    this.clock = deps.clock;
    this.random = deps.random.split('producer');
    this.log = deps.log.child({ actor: 'client.producer', ...(options.clientId === undefined ? {} : { clientId: options.clientId }) });
    this.metadata = new MetadataCache(this.channel, this.clock, this.log, this.options.metadataRefreshBackoffMs, this.options.metadataMaxAgeMs);
    this.accumulator = new RecordAccumulator<OutgoingRecord>({
      batchSizeBytes: this.options.batchSizeBytes,
      lingerMs: this.options.lingerMs,
      bufferBytesMax: this.options.bufferBytes,
    });
    this.partitioner = new StickyPartitioner(this.random.split('partitioner'));
    this.sequences = new ProducerSequences(this.options.idempotence ? this.options.maxInFlight : producerInFlightPerConnectionMax);
    const host: ProducerHost = {
      bootstrap: () => this.bootstrap(),
      drain: () => this.drainForClose(),
      onStateChange: (state) => this.onStateChange(state),
      backoffMs: (attempt) => this.backoffMs(attempt),
    };
    this.actor = createActor(producerMachine, { id: 'client.producer', clock: this.clock, input: { host } });
    this.actor.start();
  }

  /** The lifecycle state (connecting, ready, closing, closed, failed). */
  get lifecycle(): ProducerState {
    return this.state;
  }

  /** The producer id in use (-1 without idempotence or before the first one arrives). */
  get producerId(): number {
    return this.sequences.producerId;
  }

  /**
   * Sends a record and returns a promise of its `{ topic, partition, offset }`. Ignoring the promise is safe (a failure
   * is counted in `stats.failed`, never an unhandled rejection); `callback`, if given, is called as well. For many records
   * whose callers do not await each one, `produce()` is cheaper.
   */
  send(record: ProducerRecord, callback?: SendCallback): Promise<RecordMetadata> {
    let deferred!: Deferred;
    const promise = new Promise<RecordMetadata>((resolve, reject) => {
      deferred = { resolve, reject };
    });
    // Fire and forget must not become an unhandled rejection; awaiting callers still see the error.
    promise.catch(ignore);
    this.accept(record, callback, deferred);
    return promise;
  }

  /**
   * Sends a record without a promise (librdkafka's produce): `callback`, if given, gets `(null, metadata)` or
   * `(error, null)` once, in send order within a partition; without one, a failure is counted in
   * `stats.unobservedFailed` and logged. It never throws: a refused record reaches the callback too. The record object
   * is not kept, so a caller may reuse it for the next call.
   */
  produce(record: ProducerRecord, callback?: SendCallback): void {
    this.accept(record, callback, undefined);
  }

  /**
   * Resolves when every record sent (by produce or send) before the call has its fate, acknowledged or failed; records
   * sent after it are not waited for. linger.ms is skipped meanwhile.
   */
  async flush(): Promise<void> {
    // Every record without a fate now was accepted before this call, so it has an id up to lastId.
    if (this.incompleteCount === 0) return;
    const waiter: FlushWaiter = { upToId: this.lastId, remaining: this.incompleteCount, resolve: ignore };
    const done = new Promise<void>((resolve) => {
      waiter.resolve = resolve;
    });
    this.flushWaiters.push(waiter);
    this.accumulator.beginFlush();
    this.wake();
    try {
      await done;
    } finally {
      this.accumulator.endFlush();
    }
  }

  /**
   * Sends what is queued (waiting at most `timeoutMs`, default unlimited) and closes the connections. Records not
   * sent by then fail with ClientClosedError. Safe to call twice.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closedPromise !== undefined) return this.closedPromise;
    this.closeTimeoutMs = options.timeoutMs ?? Number.POSITIVE_INFINITY;
    this.closedPromise = new Promise<void>((resolve) => {
      const sub = this.actor.subscribe((snapshot) => {
        if (snapshot.status === 'done') {
          sub.unsubscribe();
          resolve();
        }
      });
    }).then(() => this.finishClose());
    this.accumulator.beginClose();
    this.actor.send({ type: 'producer.close' });
    if (this.state === 'failed') this.actor.send({ type: 'producer.close' });
    return this.closedPromise;
  }

  // ------------------------------------------------------------------------------------------ enqueue

  /** The one path of produce() and send(): a record is refused at once, or accepted and settled exactly once later. */
  private accept(record: ProducerRecord, callback: SendCallback | undefined, deferred: Deferred | undefined): void {
    let outgoing: OutgoingRecord;
    try {
      outgoing = this.admit(record, callback, deferred);
    } catch (err) {
      this.refuse(asError(err), callback, deferred);
      return;
    }
    this.incompleteCount++;
    try {
      this.enqueue(record.topic, record.partition, outgoing);
    } catch (err) {
      this.settle(outgoing, asError(err), record.topic, -1, -1);
    }
  }

  /** Checks a record and builds what the producer keeps of it; throws (before it counts as accepted) if refused. */
  private admit(record: ProducerRecord, callback: SendCallback | undefined, deferred: Deferred | undefined): OutgoingRecord {
    if (this.state === 'closing' || this.state === 'closed') throw new ClientClosedError('send');
    if (this.state === 'failed') throw this.fatal ?? new ClientClosedError('send');
    if (typeof record.topic !== 'string' || record.topic.length === 0) throw new RangeError('send: a record needs a topic');
    const timestamp = record.timestamp ?? this.clock.now();
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError(`send: timestamp must be a non-negative integer, got ${timestamp}`);
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = toHeaders(record.headers);
    const sizeBytes = recordSizeEstimate(key, value, headers);
    if (sizeBytes + batchOverheadBytes > this.options.maxRequestBytes) {
      throw new RaftlineError('MESSAGE_TOO_LARGE', `a record of about ${sizeBytes} bytes exceeds max.request.size ${this.options.maxRequestBytes}`);
    }
    return new OutgoingRecord(++this.lastId, key, value, headers, timestamp, sizeBytes, callback, deferred);
  }

  /** Puts an accepted record in its partition's batch, or holds it (in order) until metadata names its topic. */
  private enqueue(topic: string, partition: number | undefined, outgoing: OutgoingRecord): void {
    const topicMeta = this.metadata.topic(topic);
    const topicWaits = this.waiting.length > 0 && this.waiting.some((w) => w.topic === topic);
    if (topicMeta === undefined || topicMeta.partitions.length === 0 || topicWaits) {
      if (this.waiting.length >= producerMetadataWaitRecordsMax || this.waitingBytes + this.accumulator.bytesBuffered + outgoing.sizeBytes > this.options.bufferBytes) {
        throw new BufferExhaustedError(this.waitingBytes + this.accumulator.bytesBuffered, this.options.bufferBytes);
      }
      this.waiting.push({ record: outgoing, topic, partition, sinceMs: this.clock.monotonicMs() });
      this.waitingBytes += outgoing.sizeBytes;
      this.metadata.want([topic]);
      this.wake();
      return;
    }
    this.append(topic, partition, outgoing);
  }

  /**
   * The partitioner's view of a topic, rebuilt only when the metadata changes: asking the metadata for the available
   * partitions on every record cost two arrays per record.
   */
  private partitionChoice(topic: string, numPartitions: number): PartitionChoice {
    if (this.choicesVersion !== this.metadata.version) {
      this.choices.clear();
      this.choicesVersion = this.metadata.version;
    }
    let choice = this.choices.get(topic);
    if (choice === undefined || choice.numPartitions !== numPartitions) {
      choice = { numPartitions, available: this.metadata.availablePartitions(topic) };
      this.choices.set(topic, choice);
    }
    return choice;
  }

  private append(topic: string, explicit: number | undefined, pending: OutgoingRecord): void {
    const meta = this.metadata.topic(topic)!;
    const choice = this.partitionChoice(topic, meta.partitions.length);
    let partition = this.partitioner.partition(topic, pending.key, choice, explicit);
    const fits = this.accumulator.appendToOpenBatch(topic, partition, pending);
    if (fits !== 'none') {
      if (fits === 'full') this.wake();
      return;
    }
    const sticky = explicit === undefined && pending.key === null;
    const now = this.clock.monotonicMs();
    let result = this.accumulator.append({ topic, partition }, pending, now, sticky);
    if (!result.appended) {
      // KIP-480: the sticky partition's batch is full or gone; stick to another partition for the new batch.
      partition = this.partitioner.onNewBatch(topic, choice, partition);
      result = this.accumulator.append({ topic, partition }, pending, now, false);
    }
    if (!result.appended) throw new Error('producer: append without abortOnNewBatch must succeed');
    if (result.batchIsFull || result.newBatchCreated) this.wake();
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  private async bootstrap(): Promise<void> {
    this.metadata.markStale();
    this.stats.metadataRefreshes++;
    await this.metadata.refreshIfNeeded(true);
    if (this.options.idempotence) {
      // Requests sent under the old epoch are answered first (nothing new goes out while connecting): a batch of the
      // new epoch must not overtake an older one that may still be written, or be refused in its place.
      await this.inFlightSettled();
      const bump = this.bumpFrom;
      const { producerId, producerEpoch } = await this.channel.initProducerId(bump);
      if (bump !== undefined && producerId === bump.producerId && producerEpoch <= bump.producerEpoch) {
        throw new RaftlineError('UNKNOWN_SERVER_ERROR', `epoch bump of producer ${producerId} answered epoch ${producerEpoch}, not above ${bump.producerEpoch}`);
      }
      this.bumpFrom = undefined;
      this.sequences.setProducer(producerId, producerEpoch);
      // Batches sent under an earlier id or epoch get fresh sequences (from 0 in every partition) under this one.
      for (const batch of this.accumulator.queued()) this.restamp(batch);
      this.log.debug({ producerId, producerEpoch, bumped: bump !== undefined }, 'client: producer id assigned');
    }
  }

  /** Resolves once no produce request is outstanding (each ends by answer or request timeout, so this is bounded). */
  private inFlightSettled(): Promise<void> {
    if (this.requestsInFlight() === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private requestsInFlight(): number {
    let n = 0;
    for (const v of this.nodeInFlight.values()) n += v;
    return n;
  }

  private async drainForClose(): Promise<void> {
    if (this.options.idempotence && !this.sequences.hasProducerId && !this.accumulator.isEmpty()) {
      await this.bootstrap().catch((err: unknown) => this.log.warn({ err }, 'client: no producer id before close'));
    }
    const flushed = this.flush();
    if (Number.isFinite(this.closeTimeoutMs)) {
      let handle: TimerHandle | undefined;
      const timeout = new Promise<void>((resolve) => {
        handle = this.clock.setTimeout(resolve, this.closeTimeoutMs);
      });
      await Promise.race([flushed, timeout]);
      this.clock.clearTimeout(handle);
    } else {
      await flushed;
    }
  }

  private finishClose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    const error = this.fatal ?? new ClientClosedError('send');
    for (const batch of this.accumulator.drainAll()) this.failBatch(batch, error);
    for (const w of this.waiting.splice(0)) this.settle(w.record, error, w.topic, -1, -1);
    this.waitingBytes = 0;
    this.channel.close();
    // In-flight requests fail with NETWORK_EXCEPTION as the channel closes; their batches fail, not retry.
  }

  private onStateChange(state: ProducerState): void {
    this.state = state;
    if (state === 'failed') {
      const error = this.actor.getSnapshot().context.fatal ?? new RaftlineError('UNKNOWN_SERVER_ERROR', 'the producer failed');
      this.fatal = error;
      for (const batch of this.accumulator.drainAll()) this.failBatch(batch, error);
      for (const w of this.waiting.splice(0)) this.settle(w.record, error, w.topic, -1, -1);
      this.waitingBytes = 0;
    }
    this.wake();
  }

  private backoffMs(attempt: number): number {
    const base = Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffMs * 2 ** Math.max(0, attempt - 1));
    // ±20 % jitter (Kafka's retry.backoff jitter), from the Random port so the simulator replays it.
    return Math.max(0, Math.round(base * (0.8 + 0.4 * this.random.next())));
  }

  private get canSend(): boolean {
    if (this.state === 'ready') return true;
    return this.state === 'closing' && (!this.options.idempotence || this.sequences.hasProducerId);
  }

  // ------------------------------------------------------------------------------------------ sender

  private wake(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    // A microtask, not a timer: every send of the current turn lands in the accumulator first (they batch), and
    // nothing waits for a timer tick. Deterministic under the simulator as well.
    queueMicrotask(() => {
      this.wakeQueued = false;
      this.run();
    });
  }

  private wakeIn(delayMs: number): void {
    const atMs = this.clock.monotonicMs() + Math.max(0, delayMs);
    if (this.timer !== undefined) {
      if (this.timer.atMs <= atMs) return;
      this.clock.clearTimeout(this.timer.handle);
    }
    const handle = this.clock.setTimeout(() => {
      if (this.timer?.handle === handle) this.timer = undefined;
      this.run();
    }, Math.max(0, delayMs));
    this.timer = { handle, atMs };
  }

  private run(): void {
    if (this.state === 'closed') return;
    const now = this.clock.monotonicMs();
    this.admitWaiting(now);
    for (const batch of this.accumulator.expire(now, this.options.deliveryTimeoutMs)) {
      // A batch given up after it was sent may or may not have been written: its partition's sequence cannot go on.
      if (batch.attempts > 0 && this.isCurrent(batch)) this.sequenceBroken(batch);
      this.failBatch(batch, new DeliveryTimeoutError(batch.topic, batch.partition, now - batch.createdMs, { cause: batch.lastError }));
    }
    if (this.metadata.isStale && (this.waiting.length > 0 || !this.accumulator.isEmpty())) {
      const version = this.metadata.version;
      const delay = this.metadata.refreshDelayMs();
      if (delay > 0) this.wakeIn(delay);
      else {
        this.stats.metadataRefreshes++;
        void this.metadata.refreshIfNeeded().then(() => {
          if (this.metadata.version !== version || this.metadata.isStale) this.wake();
        });
      }
    }
    if (!this.canSend) {
      // Still connecting: look again later so queued records still meet their delivery timeout.
      if (!this.accumulator.isEmpty() || this.waiting.length > 0) this.wakeIn(Math.max(1, this.options.retryBackoffMs));
      return;
    }
    let nextCheck: number | undefined;
    // Each pass sends at most one request per broker; in-flight limits end the loop.
    for (let pass = 0; pass < 64; pass++) {
      const { ready, nextCheckDelayMs } = this.accumulator.ready(now, (tp) => this.sendable(tp));
      nextCheck = nextCheckDelayMs;
      if (ready.length === 0) break;
      if (!this.sendReady(ready)) break;
    }
    if (nextCheck !== undefined) this.wakeIn(nextCheck);
    if (this.waiting.length > 0) this.wakeIn(Math.max(this.metadata.refreshDelayMs(), this.options.metadataRefreshBackoffMs));
  }

  /** Moves records whose topic now has metadata into the accumulator, in order; fails those past max.block.ms. */
  private admitWaiting(now: number): void {
    if (this.waiting.length === 0) return;
    const still: WaitingRecord[] = [];
    const blockedTopics = new Set<string>();
    for (const w of this.waiting) {
      const meta = this.metadata.topic(w.topic);
      const known = meta !== undefined && meta.partitions.length > 0 && meta.error === null;
      if (known && !blockedTopics.has(w.topic)) {
        this.waitingBytes -= w.record.sizeBytes;
        try {
          this.append(w.topic, w.partition, w.record);
        } catch (err) {
          this.settle(w.record, asError(err), w.topic, -1, -1);
        }
        continue;
      }
      if (now - w.sinceMs >= this.options.maxBlockMs) {
        this.waitingBytes -= w.record.sizeBytes;
        this.settle(w.record, new UnknownTopicError(w.topic, now - w.sinceMs), w.topic, -1, -1);
        continue;
      }
      blockedTopics.add(w.topic);
      still.push(w);
    }
    this.waiting.length = 0;
    this.waiting.push(...still);
    if (this.waitingBytes < 0) throw new Error('producer: waiting bytes went negative');
  }

  private sendable(tp: TopicPartition): boolean {
    const leader = this.metadata.leader(tp.topic, tp.partition);
    if (leader === undefined) {
      this.metadata.markStale();
      return false;
    }
    if ((this.nodeInFlight.get(leader.nodeId) ?? 0) >= this.options.maxInFlight) return false;
    const key = tpKey(tp.topic, tp.partition);
    const inFlight = this.partitionInFlight.get(key) ?? 0;
    const head = this.accumulator.peek(tp);
    // A retry goes out only when nothing of its partition is in flight: later batches cannot overtake it.
    if (head !== undefined && head.attempts > 0 && inFlight > 0) return false;
    if (this.options.idempotence && !this.sequences.canSend(key)) return false;
    return true;
  }

  /** Drains one batch per ready partition into one request per leader. False when nothing could be sent. */
  private sendReady(ready: TopicPartition[]): boolean {
    const byNode = new Map<number, { node: BrokerNode; tps: TopicPartition[] }>();
    for (const tp of ready) {
      const node = this.metadata.leader(tp.topic, tp.partition)!;
      let entry = byNode.get(node.nodeId);
      if (entry === undefined) {
        entry = { node, tps: [] };
        byNode.set(node.nodeId, entry);
      }
      entry.tps.push(tp);
    }
    let sent = false;
    for (const { node, tps } of byNode.values()) {
      const batches: ProducerBatch<OutgoingRecord>[] = [];
      let bytes = 0;
      for (const tp of tps) {
        const head = this.accumulator.peek(tp);
        if (head === undefined) continue;
        const size = head.encoded?.length ?? head.sizeBytes;
        if (batches.length > 0 && bytes + size > this.options.maxRequestBytes) break;
        const batch = this.accumulator.drain(tp)!;
        this.prepare(batch);
        bytes += batch.encoded!.length;
        batches.push(batch);
      }
      if (batches.length === 0) continue;
      this.sendRequest(node, batches);
      sent = true;
    }
    return sent;
  }

  /** Assigns the sequence (first send with idempotence) and encodes the batch once; retries resend the same bytes. */
  private prepare(batch: ProducerBatch<OutgoingRecord>): void {
    if (batch.encoded !== undefined) return;
    const key = tpKey(batch.topic, batch.partition);
    if (this.options.idempotence) {
      batch.producerId = this.sequences.producerId;
      batch.producerEpoch = this.sequences.producerEpoch;
      batch.baseSequence = this.sequences.assign(key, batch.recordCount);
    }
    batch.encoded = encodeBatch({
      // The batch's records are encoded as they are: each already has the key, value, headers and timestamp.
      records: batch.records,
      timestamp: batch.records[0]!.timestamp,
      compression: this.options.compression,
      producerId: batch.producerId,
      producerEpoch: batch.producerEpoch,
      baseSequence: batch.baseSequence,
    });
  }

  /** A batch stamped under an older producer id or epoch: drop its bytes and sequence so it is stamped afresh. */
  private restamp(batch: ProducerBatch<OutgoingRecord>): void {
    if (batch.encoded === undefined) return;
    if (batch.producerId === this.sequences.producerId && batch.producerEpoch === this.sequences.producerEpoch) return;
    batch.encoded = undefined;
    batch.baseSequence = -1;
    batch.producerId = -1;
    batch.producerEpoch = -1;
  }

  private sendRequest(node: BrokerNode, batches: ProducerBatch<OutgoingRecord>[]): void {
    this.nodeInFlight.set(node.nodeId, (this.nodeInFlight.get(node.nodeId) ?? 0) + 1);
    if (this.nodeInFlight.get(node.nodeId)! > this.options.maxInFlight) throw new Error('producer: in-flight limit exceeded');
    for (const batch of batches) {
      const key = tpKey(batch.topic, batch.partition);
      this.partitionInFlight.set(key, (this.partitionInFlight.get(key) ?? 0) + 1);
      if (this.options.idempotence) this.sequences.sent(key, batch.baseSequence);
      batch.attempts++;
    }
    this.stats.requests++;
    const call = {
      acks: this.options.acks,
      timeoutMs: this.options.requestTimeoutMs,
      partitions: batches.map((b) => ({ topic: b.topic, partition: b.partition, records: b.encoded! })),
    };
    let answered = false;
    const done = (results: ProducePartitionResult[] | undefined, error: RaftlineError | undefined): void => {
      if (answered) throw new Error('producer: a produce request was answered twice');
      answered = true;
      const n = this.nodeInFlight.get(node.nodeId)! - 1;
      if (n < 0) throw new Error('producer: node in-flight count went negative');
      this.nodeInFlight.set(node.nodeId, n);
      if (this.settledWaiters.length > 0 && this.requestsInFlight() === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
      for (const batch of batches) {
        const result = results?.find((r) => r.topic === batch.topic && r.partition === batch.partition);
        const failure =
          error ??
          (result === undefined
            ? new RaftlineError('UNKNOWN_SERVER_ERROR', `the produce response has no entry for ${batch.topic}-${batch.partition}`)
            : result.error === null
              ? undefined
              : new RaftlineError(result.error.code, result.error.message));
        this.onBatchAnswered(batch, failure, result?.baseOffset ?? -1);
      }
      this.wake();
    };
    whenSettled(
      () => this.channel.produce(node, call),
      (results) => done(results, undefined),
      (err: unknown) => done(undefined, err instanceof RaftlineError ? err : new RaftlineError('NETWORK_EXCEPTION', String(err), { cause: err })),
    );
  }

  private onBatchAnswered(batch: ProducerBatch<OutgoingRecord>, error: RaftlineError | undefined, baseOffset: number): void {
    const key = tpKey(batch.topic, batch.partition);
    const n = (this.partitionInFlight.get(key) ?? 0) - 1;
    if (n < 0) throw new Error(`producer: ${key} in-flight count went negative`);
    if (n === 0) this.partitionInFlight.delete(key);
    else this.partitionInFlight.set(key, n);
    const current = this.isCurrent(batch);
    if (current) this.sequences.answered(key, batch.baseSequence);
    if (error === undefined || error.code === 'DUPLICATE_SEQUENCE_NUMBER') {
      if (current) this.sequences.acknowledged(key, batch.baseSequence, batch.recordCount);
      this.completeBatch(batch, error === undefined ? baseOffset : -1);
      return;
    }
    const code = error.code;
    // Refusals of the producer's identity or sequence were decided before anything was written. For a batch stamped
    // under an id or epoch we already left, they only say the broker saw the newer epoch first: resend it restamped.
    const staleStamp = this.options.idempotence && !current && producerStateErrors.has(code);
    if (!staleStamp && (code === 'PRODUCER_FENCED' || code === 'INVALID_PRODUCER_EPOCH')) {
      this.failBatch(batch, error);
      this.actor.send({ type: 'producer.fatal', error });
      return;
    }
    batch.lastError = error;
    const now = this.clock.monotonicMs();
    let retriable = isRetriable(code) || staleStamp;
    if (current && (code === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || code === 'UNKNOWN_PRODUCER_ID')) {
      if (code === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && !this.sequences.isNextExpected(key, batch.baseSequence)) {
        // An earlier batch of the partition failed and will be resent first: this one follows it (Kafka's rule).
        retriable = true;
      } else {
        // KIP-360: the broker lost (or never had) what came before this batch, so the sequence cannot continue. Bump
        // the epoch, which restarts every partition at sequence 0, and resend this batch under it: it was refused
        // before anything was written, so it is not lost. Only writes the broker already lost are gone, and those
        // were answered long ago.
        this.sequenceBroken(batch);
        retriable = true;
      }
    }
    // A batch stamped under an epoch we have since left, answered with anything but a refusal of its producer state
    // (a timeout, a lost connection, a leader change), may have been written under that old stamp. Restamped under
    // the new epoch it would be a second copy no broker can recognise (the simulator's safe storm wrote such batches
    // twice), so it is given up with its fate unknown, as Kafka's producer gives up a batch of an older epoch.
    if (this.options.idempotence && !current && !staleStamp) retriable = false;
    const withinDelivery = now - batch.createdMs < this.options.deliveryTimeoutMs;
    if (retriable && batch.attempts <= this.options.retries && withinDelivery && this.state !== 'closed' && this.state !== 'failed') {
      if (leadershipErrors.has(code)) this.metadata.markStale();
      batch.retryAtMs = now + this.backoffMs(batch.attempts);
      this.stats.retries++;
      if (!this.isCurrent(batch)) this.restamp(batch);
      this.accumulator.reenqueue(batch);
      this.log.debug({ topic: batch.topic, partition: batch.partition, code, attempt: batch.attempts }, 'client: produce will be retried');
      return;
    }
    // A sent batch given up on may or may not have been written: the partition's sequence cannot go on after it.
    if (this.isCurrent(batch)) this.sequenceBroken(batch);
    this.failBatch(batch, withinDelivery ? error : new DeliveryTimeoutError(batch.topic, batch.partition, now - batch.createdMs, { cause: error }));
  }

  /**
   * The partition's sequence can no longer continue (a batch given up after it was sent, or the broker lost our
   * state): bump the producer epoch (KIP-360), which restarts every partition at sequence 0, and restamp what is
   * queued. Sending stops until the bump is done; the bootstrap first lets the requests in flight be answered.
   */
  private sequenceBroken(batch: ProducerBatch<OutgoingRecord>): void {
    if (!this.sequences.hasProducerId) throw new Error('producer: sequence broken without a producer id');
    this.bumpFrom = { producerId: this.sequences.producerId, producerEpoch: this.sequences.producerEpoch };
    this.log.warn(
      { topic: batch.topic, partition: batch.partition, baseSequence: batch.baseSequence, ...this.bumpFrom },
      'client: sequence broken; bumping the producer epoch',
    );
    // A queued retry whose last attempt ended without a refusal of its producer state (a timeout, a lost connection)
    // may be in the log under its old stamp: restamped it would be written twice, so it is given up, fate unknown.
    const mayBeWritten = (b: ProducerBatch<OutgoingRecord>): boolean =>
      b.attempts > 0 && !(b.lastError instanceof RaftlineError && producerStateErrors.has(b.lastError.code));
    for (const uncertain of this.accumulator.removeWhere(mayBeWritten)) {
      const last = uncertain.lastError;
      this.failBatch(
        uncertain,
        new RaftlineError(last instanceof RaftlineError ? last.code : 'REQUEST_TIMED_OUT', `sent under producer epoch ${uncertain.producerEpoch} and maybe written; not resent under a new epoch (${last?.message ?? 'no answer'})`),
      );
    }
    this.sequences.reset();
    for (const queued of this.accumulator.queued()) this.restamp(queued);
    if (this.state === 'ready') this.actor.send({ type: 'producer.reinit' });
  }

  /** Stamped under the producer id and epoch in use now (always false without idempotence). */
  private isCurrent(batch: ProducerBatch<OutgoingRecord>): boolean {
    return this.options.idempotence && this.sequences.hasProducerId && batch.producerId === this.sequences.producerId && batch.producerEpoch === this.sequences.producerEpoch;
  }

  private completeBatch(batch: ProducerBatch<OutgoingRecord>, baseOffset: number): void {
    this.accumulator.release(batch);
    const records = batch.records;
    for (let i = 0; i < records.length; i++) this.settle(records[i]!, null, batch.topic, batch.partition, baseOffset < 0 ? -1 : baseOffset + i);
  }

  private failBatch(batch: ProducerBatch<OutgoingRecord>, error: Error): void {
    this.accumulator.release(batch);
    this.log.debug({ topic: batch.topic, partition: batch.partition, err: error }, 'client: batch failed');
    for (const r of batch.records) this.settle(r, error, batch.topic, batch.partition, -1);
  }

  /**
   * Gives an accepted record its fate, exactly once: counts it, tells its callback and promise (RecordMetadata is built
   * only when one of them wants it), then lets flush() waiters know. `offset` is -1 when unknown (acks=0, a duplicate).
   */
  private settle(r: OutgoingRecord, error: Error | null, topic: string, partition: number, offset: number): void {
    if (r.settled) throw new Error('producer: a record settled twice');
    r.settled = true;
    this.incompleteCount--;
    if (this.incompleteCount < 0) throw new Error('producer: more records settled than were accepted');
    if (error === null) {
      this.stats.acknowledged++;
      if (r.observed) this.deliver(r.callback, r.deferred, null, { topic, partition, offset, timestamp: r.timestamp });
    } else {
      this.stats.failed++;
      if (r.observed) this.deliver(r.callback, r.deferred, error, null);
      else this.noteUnobservedFailure(error);
    }
    if (this.flushWaiters.length > 0) this.flushProgress(r.id);
  }

  /** A record refused before it was accepted (closed producer, bad record, too large): it fails at once. */
  private refuse(error: Error, callback: SendCallback | undefined, deferred: Deferred | undefined): void {
    this.stats.failed++;
    if (callback === undefined && deferred === undefined) this.noteUnobservedFailure(error);
    else this.deliver(callback, deferred, error, null);
  }

  private deliver(callback: SendCallback | undefined, deferred: Deferred | undefined, error: Error | null, metadata: RecordMetadata | null): void {
    if (deferred !== undefined) {
      if (error !== null) deferred.reject(error);
      else deferred.resolve(metadata!);
    }
    if (callback !== undefined) {
      try {
        callback(error, metadata);
      } catch (err) {
        this.log.error({ err }, 'client: a send callback threw');
      }
    }
  }

  /**
   * A record sent with neither callback nor promise failed: counted always, logged at most once per
   * producerUnobservedFailureLogIntervalMs (a failing fire-and-forget loop must not flood the log), with how many
   * went unlogged since the last line.
   */
  private noteUnobservedFailure(error: Error): void {
    this.stats.unobservedFailed++;
    const now = this.clock.monotonicMs();
    if (now - this.unobservedLoggedAtMs < producerUnobservedFailureLogIntervalMs) {
      this.unobservedUnlogged++;
      return;
    }
    this.log.warn({ err: error, unloggedSincePrevious: this.unobservedUnlogged, unobservedFailed: this.stats.unobservedFailed }, 'client: a record sent without a callback failed');
    this.unobservedLoggedAtMs = now;
    this.unobservedUnlogged = 0;
  }

  /** Record `id` has its fate: the flush() calls made after it was accepted have one record fewer to wait for. */
  private flushProgress(id: number): void {
    let finished = 0;
    for (let i = 0; i < this.flushWaiters.length; i++) {
      const waiter = this.flushWaiters[i]!;
      if (id > waiter.upToId) continue;
      waiter.remaining--;
      if (waiter.remaining < 0) throw new Error('producer: a flush counted more records than it waited for');
      // What an earlier flush still waits for, a later one waits for too: so the finished ones lead the list.
      if (waiter.remaining === 0 && finished++ !== i) throw new Error(`producer: flush waiter ${i} finished before an earlier one`);
    }
    for (const waiter of this.flushWaiters.splice(0, finished)) waiter.resolve();
  }
}
