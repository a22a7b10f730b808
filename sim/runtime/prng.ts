// The simulator's private seeded PRNG (xoshiro128** seeded through splitmix32), implementing the Random port.
// Invariant: the whole stream is a pure function of (seed, chain of split labels); nothing else feeds it.
// The storage engineer's src/runtime/seeded-random.ts will replace this once merged (same port, same role).
import type { Random } from '../../src/runtime/random.js';

/** FNV-1a over UTF-16 code units: turns a string seed or split label into 32 bits of seed material. */
function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** splitmix32 step: spreads a 32-bit value so that nearby seeds give unrelated xoshiro states. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function seedMaterial(seed: number | bigint | string): number[] {
  if (typeof seed === 'string') return [hashString(seed), hashString(seed, 0x01234567)];
  const big = typeof seed === 'bigint' ? seed : BigInt(Math.trunc(seed));
  const lo = Number(BigInt.asUintN(32, big));
  const hi = Number(BigInt.asUintN(32, big >> 32n));
  return [lo, hi];
}

class Xoshiro128 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The stream's identity (a digest of its seed words), from which split() derives children. */
  private readonly idA: number;
  private readonly idB: number;

  constructor(words: readonly number[]) {
    this.idA = hashWords(words, 0x9747b28c);
    this.idB = hashWords(words, 0x2545f491);
    const st = { s: 0 };
    for (const w of words) st.s = (st.s ^ w) + splitmix32(st);
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // The all-zero state is the one fixed point of xoshiro; splitmix output makes it practically impossible.
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** One 32-bit output (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  next(): number {
    // 53 bits from two outputs, like Math.random's precision.
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`Random.int: maxExclusive must be a positive safe integer, got ${maxExclusive}`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  range(min: number, maxExclusive: number): number {
    if (!(maxExclusive > min)) throw new RangeError(`Random.range: empty range [${min}, ${maxExclusive})`);
    return min + this.int(maxExclusive - min);
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      let w = this.nextU32();
      for (let j = i; j < Math.min(i + 4, length); j++) {
        out[j] = w & 0xff;
        w >>>= 8;
      }
    }
    return out;
  }

  split(label: string): Random {
    // Derived from the parent's seed words and the label, not from the parent's current position, so that a
    // stream's identity does not depend on how much the parent was used before the split.
    return new Xoshiro128([this.idA, this.idB, hashString(label)]);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function hashWords(words: readonly number[], basis: number): number {
  let h = basis >>> 0;
  for (const w of words) {
    h ^= w >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  }
  return h >>> 0;
}

/** A seeded Random: the same seed gives the same stream on every machine. */
export function createPrng(seed: number | bigint | string): Random {
  return new Xoshiro128(seedMaterial(seed));
}
