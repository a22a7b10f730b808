// Per-partition state of idempotent producers (KIP-98): for each producer id, its epoch and the last few batches it
// wrote (sequence range and offsets). Invariant: for one producer and epoch, the remembered batches have strictly
// consecutive sequence ranges (mod 2^31) in offset order, so a retried batch is recognised as a duplicate and gets
// its original offsets, and a gap is refused as OUT_OF_ORDER_SEQUENCE_NUMBER before anything is written.
import { RaftlineError } from '../wire/errors.js';
import { producerBatchesRememberedMax, producersPerPartitionMax } from '../limits.js';
import type { BatchHeader } from '../storage/record-batch.js';
import { invariant } from './isr.js';

export interface RememberedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first; at most producerBatchesRememberedMax. */
  batches: RememberedBatch[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number };

const sequenceSpan = 2 ** 31;

/** The sequence after `lastSequence`, wrapping at int32 max like Kafka's. */
export function nextSequence(lastSequence: number): number {
  return (lastSequence + 1) % sequenceSpan;
}

function lastSequenceOf(header: BatchHeader): number {
  return (header.baseSequence + header.lastOffsetDelta) % sequenceSpan;
}

export function isIdempotent(header: BatchHeader): boolean {
  return header.producerId >= 0;
}

export class ProducerStateTable {
  private readonly entries = new Map<number, ProducerEntry>();

  get size(): number {
    return this.entries.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.entries.get(producerId);
  }

  /**
   * Checks a producer batch against the state before it is written (the leader). A producer this partition does not
   * know may start at any sequence: its earlier batches may have been in a log prefix that retention deleted, or on
   * a replica that lost them, and refusing it would block it for good (Kafka since KIP-360 does the same).
   */
  check(header: BatchHeader): SequenceCheck {
    invariant(isIdempotent(header), 'sequence check of a batch without a producer id');
    if (header.baseSequence < 0) throw new RaftlineError('INVALID_REQUEST', `idempotent batch of producer ${header.producerId} has no base sequence`);
    const entry = this.entries.get(header.producerId);
    if (entry === undefined) return { kind: 'append' };
    if (header.producerEpoch < entry.producerEpoch) {
      throw new RaftlineError('INVALID_PRODUCER_EPOCH', `producer ${header.producerId} epoch ${header.producerEpoch} is older than ${entry.producerEpoch}`);
    }
    if (header.producerEpoch > entry.producerEpoch) {
      if (header.baseSequence !== 0) {
        throw new RaftlineError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${header.producerId} starts epoch ${header.producerEpoch} at sequence ${header.baseSequence}, not 0`);
      }
      return { kind: 'append' };
    }
    const last = lastSequenceOf(header);
    const dup = entry.batches.find((b) => b.firstSequence === header.baseSequence && b.lastSequence === last);
    if (dup !== undefined) return { kind: 'duplicate', baseOffset: dup.baseOffset, lastOffset: dup.lastOffset };
    const newest = entry.batches[entry.batches.length - 1];
    if (newest !== undefined && header.baseSequence !== nextSequence(newest.lastSequence)) {
      // A batch overlapping the remembered ones without matching one exactly is a duplicate we cannot place.
      const overlaps = entry.batches.some((b) => header.baseSequence >= b.firstSequence && header.baseSequence <= b.lastSequence);
      if (overlaps) {
        throw new RaftlineError('DUPLICATE_SEQUENCE_NUMBER', `producer ${header.producerId} sequence ${header.baseSequence} was written already`);
      }
      throw new RaftlineError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${header.producerId} sent sequence ${header.baseSequence}; expected ${nextSequence(newest.lastSequence)}`,
      );
    }
    return { kind: 'append' };
  }

  /** Records a batch written at `baseOffset` (leader append, follower append, or a rebuild from the log). */
  update(header: BatchHeader, baseOffset: number): void {
    if (!isIdempotent(header) || header.baseSequence < 0) return;
    let entry = this.entries.get(header.producerId);
    if (entry === undefined || header.producerEpoch > entry.producerEpoch) {
      entry = { producerId: header.producerId, producerEpoch: header.producerEpoch, batches: [] };
      this.entries.delete(header.producerId);
      this.entries.set(header.producerId, entry);
      // The table is bounded: the producer heard from longest ago is forgotten first (Map keeps insertion order).
      while (this.entries.size > producersPerPartitionMax) this.entries.delete(this.entries.keys().next().value as number);
    } else if (header.producerEpoch < entry.producerEpoch) {
      // A follower copying an older epoch's batch the leader accepted before a fence: the newer epoch stands.
      return;
    }
    entry.batches.push({ firstSequence: header.baseSequence, lastSequence: lastSequenceOf(header), baseOffset, lastOffset: baseOffset + header.lastOffsetDelta });
    if (entry.batches.length > producerBatchesRememberedMax) entry.batches.shift();
  }

  clear(): void {
    this.entries.clear();
  }
}
