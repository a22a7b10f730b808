// Kafka's murmur2 hash and the key partitioner built on it. Invariant: bit-identical to the Java client
// (org.apache.kafka.common.utils.Utils.murmur2 with seed 0x9747b28c, then toPositive(h) % numPartitions), so a keyed
// record lands on the same partition whether a Raftline or a Kafka producer sends it.
//
// Java ints wrap at 32 bits; here every product goes through Math.imul and every shift is `>>>` on an int32, which
// is exactly Java's `int *` and `>>>`. The tail mixes 3, 2 or 1 leftover bytes as Java's falling-through switch does.

const seed = 0x9747b28c;
const m = 0x5bd1e995;
const r = 24;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (what Utils.murmur2 returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)) | 0;
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which would map MIN_VALUE to itself). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition of a keyed record: Kafka's BuiltInPartitioner.partitionForKey. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isSafeInteger(numPartitions) || numPartitions <= 0) {
    throw new RangeError(`partitionForKey: numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}
