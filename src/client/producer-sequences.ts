// Idempotent-producer bookkeeping (KIP-98): the producer id and epoch, and per partition the next sequence number,
// the sequences in flight and the last acknowledged one. Invariants: sequences of one partition are handed out
// without gaps, in the order batches are first sent, wrapping from 2^31-1 to 0 as Kafka's do; a partition never has
// more than `inFlightMax` batches outstanding (the broker remembers only the last 5 per producer and partition).

/** Kafka's DefaultRecordBatch.incrementSequence: int32 sequences wrap to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > 0x7fffffff - increment) return increment - (0x7fffffff - sequence) - 1;
  return sequence + increment;
}

interface PartitionState {
  next: number;
  /** Base sequences sent and not yet answered, in the order they were sent. */
  inFlight: number[];
  /** The last sequence the broker acknowledged, -1 before the first. */
  lastAcked: number;
}

export class ProducerSequences {
  producerId = -1;
  producerEpoch = -1;
  private readonly partitions = new Map<string, PartitionState>();

  constructor(readonly inFlightMax: number) {
    if (!Number.isSafeInteger(inFlightMax) || inFlightMax < 1 || inFlightMax > 5) {
      throw new RangeError(`idempotence allows 1 to 5 in-flight batches per partition, got ${inFlightMax}`);
    }
  }

  get hasProducerId(): boolean {
    return this.producerId >= 0;
  }

  /** A new producer id (or epoch): every partition's sequences start again at 0. */
  setProducer(producerId: number, producerEpoch: number): void {
    if (!Number.isSafeInteger(producerId) || producerId < 0 || !Number.isSafeInteger(producerEpoch) || producerEpoch < 0) {
      throw new RangeError(`bad producer id ${producerId} / epoch ${producerEpoch}`);
    }
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.partitions.clear();
  }

  /** Forgets the producer id: the next send waits for a new one (after a sequence the broker can no longer accept). */
  reset(): void {
    this.producerId = -1;
    this.producerEpoch = -1;
    this.partitions.clear();
  }

  private state(key: string): PartitionState {
    let s = this.partitions.get(key);
    if (s === undefined) {
      s = { next: 0, inFlight: [], lastAcked: -1 };
      this.partitions.set(key, s);
    }
    return s;
  }

  inFlight(key: string): number {
    return this.partitions.get(key)?.inFlight.length ?? 0;
  }

  canSend(key: string): boolean {
    return this.inFlight(key) < this.inFlightMax;
  }

  /** The base sequence of a batch of `count` records sent for the first time. */
  assign(key: string, count: number): number {
    if (!this.hasProducerId) throw new Error('sequences: no producer id yet');
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`sequences: a batch has at least one record, got ${count}`);
    const s = this.state(key);
    const base = s.next;
    s.next = incrementSequence(base, count);
    return base;
  }

  /** A batch with this base sequence is on the wire. */
  sent(key: string, baseSequence: number): void {
    const s = this.state(key);
    if (s.inFlight.includes(baseSequence)) throw new Error(`sequences: ${key} sequence ${baseSequence} is already in flight`);
    if (s.inFlight.length >= this.inFlightMax) throw new Error(`sequences: ${key} would exceed ${this.inFlightMax} batches in flight`);
    s.inFlight.push(baseSequence);
  }

  /** The broker answered (success or failure) for this batch. */
  answered(key: string, baseSequence: number): void {
    const s = this.state(key);
    const i = s.inFlight.indexOf(baseSequence);
    if (i < 0) throw new Error(`sequences: ${key} sequence ${baseSequence} was not in flight`);
    s.inFlight.splice(i, 1);
  }

  acknowledged(key: string, baseSequence: number, count: number): void {
    const s = this.state(key);
    const last = incrementSequence(baseSequence, count - 1);
    // Acknowledgements of one partition arrive in sequence order (one connection, the broker answers in order);
    // a retried batch may be acknowledged after later ones only if they failed first, so never move backwards.
    if (s.lastAcked === -1 || sequenceAfter(last, s.lastAcked)) s.lastAcked = last;
  }

  /** True when `baseSequence` is the next one the broker expects (nothing before it is unacknowledged). */
  isNextExpected(key: string, baseSequence: number): boolean {
    const s = this.partitions.get(key);
    const lastAcked = s?.lastAcked ?? -1;
    return baseSequence === (lastAcked === -1 ? 0 : incrementSequence(lastAcked, 1));
  }
}

/** True when sequence `a` comes after `b`, allowing for the wrap at 2^31 (they are never half the space apart). */
export function sequenceAfter(a: number, b: number): boolean {
  const d = (a - b + 0x80000000) % 0x80000000;
  return d > 0 && d < 0x40000000;
}
