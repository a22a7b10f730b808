// The record accumulator of a Producer: one queue of batches per partition, filled by `send` and drained by the
// sender. Invariants: only the last batch of a queue takes appends, and only until it is full or has been sent once
// (a retried batch keeps its bytes and its sequence number); a queue is in send order, retried batches first in
// sequence order; the bytes held are bounded by `bufferBytesMax` (Kafka's buffer.memory) — an append beyond it
// fails at once with BufferExhaustedError rather than queueing without bound.
import type { RecordHeaderInput } from '../storage/record-batch.js';
import { BufferExhaustedError } from './errors.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * What the accumulator needs of a record waiting to be sent. The producer's own record type extends it with whatever
 * its caller needs to learn the record's fate, so one object per record is all a batch holds.
 */
export interface PendingRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeaderInput[];
  readonly timestamp: number;
  /** Estimated encoded size (an upper bound of the record's bytes inside the batch). */
  readonly sizeBytes: number;
}

/** Upper bound of a record's encoded size (storage/record-batch.ts layout: varints are at most 5 or 10 bytes). */
export function recordSizeEstimate(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeaderInput[]): number {
  let bytes = 5 /* length */ + 1 /* attributes */ + 10 /* timestamp delta */ + 5 /* offset delta */;
  bytes += 5 + (key?.length ?? 0);
  bytes += 5 + (value?.length ?? 0);
  bytes += 5;
  for (const h of headers) bytes += 5 + Buffer.byteLength(h.key, 'utf8') + 5 + (h.value?.length ?? 0);
  return bytes;
}

/** Bytes of a batch's fixed header (storage/record-batch.ts batchHeaderBytes). */
export const batchOverheadBytes = 61;

export class ProducerBatch<R extends PendingRecord = PendingRecord> {
  readonly records: R[] = [];
  sizeBytes = batchOverheadBytes;
  /** Sends so far (0 until the first one). */
  attempts = 0;
  /** Not before this monotonic time (back-off after a failed attempt). */
  retryAtMs = 0;
  /** The encoded batch, fixed on first send so a retry resends the very same bytes and sequence. */
  encoded: Buffer | undefined;
  baseSequence = -1;
  producerId = -1;
  producerEpoch = -1;
  /** Why the last attempt failed (for the error a caller sees when the batch finally gives up). */
  lastError: Error | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
    /**
     * Creation order within the accumulator. A partition's batches are first sent in this order, so it is also their
     * sequence order, and unlike the sequence it survives a restamp under a new producer epoch.
     */
    readonly serial: number = 0,
  ) {}

  get closedForAppends(): boolean {
    return this.attempts > 0 || this.encoded !== undefined;
  }

  get recordCount(): number {
    return this.records.length;
  }
}

export interface AccumulatorOptions {
  /** batch.size: a batch is full once another record would take it past this many bytes. */
  batchSizeBytes: number;
  /** linger.ms: how long a batch that is not full waits for more records. */
  lingerMs: number;
  /** buffer.memory: bytes of records held across all queues. */
  bufferBytesMax: number;
}

export type AppendResult<R extends PendingRecord> =
  | { appended: true; batch: ProducerBatch<R>; batchIsFull: boolean; newBatchCreated: boolean }
  | { appended: false; abortForNewBatch: true };

export interface ReadyResult {
  ready: TopicPartition[];
  /** When to look again for partitions that are not ready yet (linger or back-off running out); undefined: nothing waits. */
  nextCheckDelayMs: number | undefined;
}

/** What `appendToOpenBatch` did: nothing (a new batch is needed), or added the record to a batch that is now full or still open. */
export type OpenAppend = 'none' | 'full' | 'open';

export class RecordAccumulator<R extends PendingRecord = PendingRecord> {
  private readonly queues = new Map<string, ProducerBatch<R>[]>();
  /**
   * The queue of the partition appended to last (a producer's records mostly go to one sticky partition in a row), so
   * the common append needs no key string or map lookup. Any change that removes or replaces a queue in `queues`
   * forgets it (`forgetLastQueue`), so it never points at a queue the map no longer holds.
   */
  private lastQueue: { topic: string; partition: number; queue: ProducerBatch<R>[] } | undefined;
  private bufferedBytes = 0;
  private flushes = 0;
  private nextSerial = 0;
  private closing = false;

  constructor(private readonly options: AccumulatorOptions) {
    if (!(options.batchSizeBytes > 0) || !(options.lingerMs >= 0) || !(options.bufferBytesMax >= options.batchSizeBytes)) {
      throw new RangeError(`accumulator: need batch.size > 0, linger.ms >= 0 and buffer.memory >= batch.size, got ${JSON.stringify(options)}`);
    }
  }

  get bytesBuffered(): number {
    return this.bufferedBytes;
  }

  /** Batches waiting in queues (not counting those in flight). */
  get batchesQueued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  isEmpty(): boolean {
    return this.batchesQueued === 0;
  }

  /**
   * Adds a record to the partition's last batch if that batch is open and has room; creates no batch, so it needs no
   * time (the producer's per-record path avoids reading the clock). `append` does the rest.
   */
  appendToOpenBatch(topic: string, partition: number, record: R): OpenAppend {
    let queue: ProducerBatch<R>[] | undefined;
    const memo = this.lastQueue;
    if (memo !== undefined && memo.partition === partition && memo.topic === topic) queue = memo.queue;
    else {
      queue = this.queues.get(tpKey(topic, partition));
      if (queue === undefined) return 'none';
      this.lastQueue = { topic, partition, queue };
    }
    const last = queue[queue.length - 1];
    if (last === undefined || last.closedForAppends || last.sizeBytes + record.sizeBytes > this.options.batchSizeBytes) return 'none';
    this.add(last, record);
    return this.isFull(last, queue) ? 'full' : 'open';
  }

  /**
   * Adds a record to the partition's last batch, or to a new one. With `abortOnNewBatch`, a record that would need
   * a new batch is not added: the sticky partitioner gets to choose another partition first (KIP-480).
   */
  append(tp: TopicPartition, record: R, nowMs: number, abortOnNewBatch: boolean): AppendResult<R> {
    const key = tpKey(tp.topic, tp.partition);
    let queue = this.queues.get(key);
    const last = queue?.[queue.length - 1];
    if (last !== undefined && !last.closedForAppends && last.sizeBytes + record.sizeBytes <= this.options.batchSizeBytes) {
      this.add(last, record);
      return { appended: true, batch: last, batchIsFull: this.isFull(last, queue!), newBatchCreated: false };
    }
    if (abortOnNewBatch) return { appended: false, abortForNewBatch: true };
    if (this.bufferedBytes + record.sizeBytes + batchOverheadBytes > this.options.bufferBytesMax) {
      throw new BufferExhaustedError(this.bufferedBytes, this.options.bufferBytesMax);
    }
    const batch = new ProducerBatch<R>(tp.topic, tp.partition, nowMs, this.nextSerial++);
    this.bufferedBytes += batchOverheadBytes;
    this.add(batch, record);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    queue.push(batch);
    return { appended: true, batch, batchIsFull: this.isFull(batch, queue), newBatchCreated: true };
  }

  private add(batch: ProducerBatch<R>, record: R): void {
    if (batch.closedForAppends) throw new Error('accumulator: append to a batch that was already sent');
    batch.records.push(record);
    batch.sizeBytes += record.sizeBytes;
    this.bufferedBytes += record.sizeBytes;
  }

  /** A batch is full when it cannot take a minimal record more, or when a newer batch already follows it. */
  private isFull(batch: ProducerBatch<R>, queue: ProducerBatch<R>[]): boolean {
    return queue.length > 1 || batch.closedForAppends || batch.sizeBytes >= this.options.batchSizeBytes;
  }

  /**
   * Partitions whose head batch should go now: full, lingered long enough, or anything while a flush or close is
   * under way; a retried batch waits out its back-off. `sendable(tp)` lets the sender hold partitions back (no
   * leader yet, too many in flight).
   */
  ready(nowMs: number, sendable: (tp: TopicPartition) => boolean): ReadyResult {
    const ready: TopicPartition[] = [];
    let next: number | undefined;
    const wait = (ms: number): void => {
      next = next === undefined ? ms : Math.min(next, ms);
    };
    for (const queue of this.queues.values()) {
      const head = queue[0];
      if (head === undefined) continue;
      const tp = { topic: head.topic, partition: head.partition };
      if (head.attempts > 0 && head.retryAtMs > nowMs) {
        wait(head.retryAtMs - nowMs);
        continue;
      }
      const lingered = nowMs - head.createdMs;
      const due = this.isFull(head, queue) || head.attempts > 0 || this.flushes > 0 || this.closing || lingered >= this.options.lingerMs;
      if (!due) {
        wait(this.options.lingerMs - lingered);
        continue;
      }
      if (sendable(tp)) ready.push(tp);
    }
    return { ready, nextCheckDelayMs: next };
  }

  /** The head batch of a partition, if it is due (see `ready`). It leaves the queue; its bytes stay counted until `release`. */
  drain(tp: TopicPartition): ProducerBatch<R> | undefined {
    const key = tpKey(tp.topic, tp.partition);
    const queue = this.queues.get(key);
    const head = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.deleteQueue(key);
    return head;
  }

  /** The head batch without removing it. */
  peek(tp: TopicPartition): ProducerBatch<R> | undefined {
    return this.queues.get(tpKey(tp.topic, tp.partition))?.[0];
  }

  /**
   * Puts a batch that must be retried back into its queue, ahead of every batch never sent, and among retried ones
   * in sequence order: so an idempotent producer resends in the order the broker expects.
   */
  reenqueue(batch: ProducerBatch<R>): void {
    if (batch.attempts === 0) throw new Error('accumulator: reenqueue of a batch never sent');
    const key = tpKey(batch.topic, batch.partition);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    // Retried batches go back in the order they were first sent (creation order), which is sequence order under one
    // producer epoch and stays right when some of them were restamped for a new epoch (sequence -1 until resent).
    let at = 0;
    while (at < queue.length && queue[at]!.attempts > 0 && queue[at]!.serial < batch.serial) at++;
    queue.splice(at, 0, batch);
  }

  /** The batch is done (acknowledged, failed or expired): its bytes no longer count against buffer.memory. */
  release(batch: ProducerBatch<R>): void {
    this.bufferedBytes -= batch.sizeBytes;
    if (this.bufferedBytes < 0) throw new Error('accumulator: buffered bytes went negative');
  }

  /** Batches still queued (not in flight) past their delivery timeout; they leave the queue. */
  expire(nowMs: number, deliveryTimeoutMs: number): ProducerBatch<R>[] {
    const out: ProducerBatch<R>[] = [];
    for (const [key, queue] of this.queues) {
      const keep = queue.filter((b) => {
        if (nowMs - b.createdMs < deliveryTimeoutMs) return true;
        out.push(b);
        return false;
      });
      this.replaceQueue(key, keep);
    }
    return out;
  }

  /** Every queued batch leaves its queue (close with a timeout, a fatal error). */
  drainAll(): ProducerBatch<R>[] {
    const out: ProducerBatch<R>[] = [];
    for (const queue of this.queues.values()) out.push(...queue);
    this.queues.clear();
    this.lastQueue = undefined;
    return out;
  }

  /** Every queued batch of one partition leaves its queue (its sequence is broken). */
  drainPartition(tp: TopicPartition): ProducerBatch<R>[] {
    const key = tpKey(tp.topic, tp.partition);
    const queue = this.queues.get(key) ?? [];
    this.deleteQueue(key);
    return queue;
  }

  /** The queued batches for which `leaves` holds leave their queues, the others keep their order. */
  removeWhere(leaves: (batch: ProducerBatch<R>) => boolean): ProducerBatch<R>[] {
    const out: ProducerBatch<R>[] = [];
    for (const [key, queue] of this.queues) {
      const keep = queue.filter((b) => {
        if (!leaves(b)) return true;
        out.push(b);
        return false;
      });
      this.replaceQueue(key, keep);
    }
    return out;
  }

  /** Every queued batch, in no particular order (to re-stamp retried batches after a producer id change). */
  queued(): ProducerBatch<R>[] {
    const out: ProducerBatch<R>[] = [];
    for (const queue of this.queues.values()) out.push(...queue);
    return out;
  }

  private deleteQueue(key: string): void {
    this.queues.delete(key);
    this.lastQueue = undefined;
  }

  private replaceQueue(key: string, queue: ProducerBatch<R>[]): void {
    if (queue.length === 0) this.queues.delete(key);
    else this.queues.set(key, queue);
    this.lastQueue = undefined;
  }

  /** While a flush is under way every batch is due regardless of linger.ms. */
  beginFlush(): void {
    this.flushes++;
  }

  endFlush(): void {
    this.flushes--;
    if (this.flushes < 0) throw new Error('accumulator: endFlush without beginFlush');
  }

  beginClose(): void {
    this.closing = true;
  }
}
