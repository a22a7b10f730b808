// The partitioner of a Producer: keyed records go where Kafka's murmur2 sends them; records without a key stick to
// one partition until the batch they fill is done, then move on (KIP-480's sticky partitioner). Invariant: a
// partition chosen for a null key is always in [0, numPartitions) and, when any partition has a known leader, is
// one of those; a switch never picks the partition just left if another one is available.
import type { Random } from '../runtime/random.js';
import { partitionForKey } from './murmur2.js';

export interface PartitionChoice {
  /** Partitions of the topic (from metadata). */
  numPartitions: number;
  /** Partitions whose leader is known right now; a null-key record prefers these. */
  available: readonly number[];
}

export class StickyPartitioner {
  /** The partition each topic's null-key records currently stick to. */
  private readonly sticky = new Map<string, number>();

  constructor(private readonly random: Random) {}

  /** The partition of a record: `explicit` if given, murmur2 of the key if there is one, else the sticky partition. */
  partition(topic: string, key: Uint8Array | null | undefined, choice: PartitionChoice, explicit?: number): number {
    const { numPartitions } = choice;
    if (!Number.isSafeInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`partitioner: ${topic} has ${numPartitions} partitions`);
    if (explicit !== undefined) {
      if (!Number.isSafeInteger(explicit) || explicit < 0 || explicit >= numPartitions) {
        throw new RangeError(`partitioner: partition ${explicit} is outside ${topic}'s ${numPartitions} partitions`);
      }
      return explicit;
    }
    if (key !== null && key !== undefined) return partitionForKey(key, numPartitions);
    const current = this.sticky.get(topic);
    if (current !== undefined && current < numPartitions) return current;
    return this.switchPartition(topic, choice, undefined);
  }

  /**
   * A null-key record needed a new batch on `previous`: the batch it stuck to was full or already sent, so stick to
   * another partition now (KIP-480 onNewBatch). Only moves when the topic still sticks to `previous`: two records
   * racing to the same full batch move the topic once, not twice.
   */
  onNewBatch(topic: string, choice: PartitionChoice, previous: number): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current !== previous && current < choice.numPartitions) return current;
    return this.switchPartition(topic, choice, previous);
  }

  /** The partition `topic` sticks to now, if any (for specs and metrics). */
  stickyPartition(topic: string): number | undefined {
    return this.sticky.get(topic);
  }

  private switchPartition(topic: string, choice: PartitionChoice, previous: number | undefined): number {
    const { numPartitions } = choice;
    const available = choice.available.filter((p) => Number.isSafeInteger(p) && p >= 0 && p < numPartitions);
    let next: number;
    if (available.length === 0) {
      // No leader known anywhere: pick among all partitions; the sender waits for metadata before it sends.
      next = this.pickOther(numPartitions, previous, (i) => i);
    } else if (available.length === 1) {
      next = available[0]!;
    } else {
      next = this.pickOther(available.length, previous === undefined ? undefined : available.indexOf(previous), (i) => available[i]!);
    }
    if (!(next >= 0 && next < numPartitions)) throw new Error(`partitioner: chose ${next} outside [0, ${numPartitions})`);
    this.sticky.set(topic, next);
    return next;
  }

  /** A uniformly random index in [0, n) other than `avoid` (when n > 1), mapped through `at`. */
  private pickOther(n: number, avoid: number | undefined, at: (i: number) => number): number {
    if (n === 1 || avoid === undefined || avoid < 0) return at(this.random.int(n));
    const i = this.random.int(n - 1);
    return at(i >= avoid ? i + 1 : i);
  }
}
