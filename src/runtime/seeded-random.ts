// A seeded, portable PRNG implementing the Random port: xoshiro128** on four 32-bit words, seeded by hashing the seed
// (number, bigint or string) with splitmix32. Invariant: the same seed gives the same sequence on every platform, and
// `split(label)` depends only on the seed and the label (not on how many values were drawn), so adding draws on one
// stream never shifts another. No Math.random, no clock: this is what makes a simulated run replayable.
import type { Random } from './random.js';

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;

/** splitmix32 step: a strong 32-bit mixer used to expand seed material into state words. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Canonical bytes of a seed, tagged by type so 1, 1n and "1" give different streams only where they should differ. */
function seedBytes(seed: number | bigint | string): Uint8Array {
  if (typeof seed === 'string') return Buffer.from(`s:${seed}`, 'utf8');
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
    // Integral numbers hash like the equal bigint so `42` and `42n` name the same run.
    if (Number.isInteger(seed)) return Buffer.from(`i:${BigInt(seed).toString(16)}`, 'utf8');
    const b = Buffer.alloc(10);
    b.write('f:', 0, 'latin1');
    b.writeDoubleLE(seed, 2);
    return b;
  }
  return Buffer.from(`i:${seed.toString(16)}`, 'utf8');
}

/** Hashes bytes into four nonzero 32-bit state words (absorb byte by byte into four lanes, then finalize). */
function hashToState(bytes: Uint8Array, key?: Uint32Array): Uint32Array {
  const s = new Uint32Array(4);
  s[0] = key ? key[0]! ^ 0x243f6a88 : 0x243f6a88;
  s[1] = key ? key[1]! ^ 0x85a308d3 : 0x85a308d3;
  s[2] = key ? key[2]! ^ 0x13198a2e : 0x13198a2e;
  s[3] = key ? key[3]! ^ 0x03707344 : 0x03707344;
  for (let i = 0; i < bytes.length; i++) {
    const lane = i & 3;
    s[lane] = mix32(s[lane]! ^ Math.imul(bytes[i]! + 1, 0x01000193) ^ i);
  }
  // Finalize: every lane depends on every byte and on the length.
  let acc = mix32(bytes.length ^ 0x6a09e667);
  for (let round = 0; round < 2; round++) {
    for (let lane = 0; lane < 4; lane++) {
      acc = mix32(acc ^ s[lane]!);
      s[lane] = acc;
    }
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1; // xoshiro's one forbidden state
  return s;
}

class Xoshiro128 implements Random {
  private readonly s: Uint32Array;

  constructor(private readonly key: Uint32Array) {
    this.s = Uint32Array.from(key);
  }

  /** One 32-bit output of xoshiro128**. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  next(): number {
    // 53 random bits: 27 from one word and 26 from the next, so every representable step of 2^-53 is reachable.
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`int(maxExclusive) needs a positive safe integer, got ${maxExclusive}`);
    }
    if (maxExclusive <= TWO_POW_32) {
      // Rejection sampling keeps the result unbiased: drop draws from the incomplete last bucket.
      const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return x % maxExclusive;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % maxExclusive);
    for (;;) {
      const x = (this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6);
      if (x < limit) return x % maxExclusive;
    }
  }

  range(min: number, maxExclusive: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(maxExclusive) || maxExclusive <= min) {
      throw new RangeError(`range(${min}, ${maxExclusive}) needs safe integers with min < maxExclusive`);
    }
    return min + this.int(maxExclusive - min);
  }

  bytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bytes(length) needs length >= 0, got ${length}`);
    const out = new Uint8Array(length);
    let i = 0;
    while (i < length) {
      let w = this.nextU32();
      for (let k = 0; k < 4 && i < length; k++, i++) {
        out[i] = w & 0xff;
        w >>>= 8;
      }
    }
    return out;
  }

  split(label: string): Random {
    return new Xoshiro128(hashToState(Buffer.from(`split:${label}`, 'utf8'), this.key));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A deterministic Random for the simulator and tests. The same seed gives the same stream everywhere. */
export function createSeededRandom(seed: number | bigint | string): Random {
  return new Xoshiro128(hashToState(seedBytes(seed)));
}
