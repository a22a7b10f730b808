// The real Random: every value comes from the OS CSPRNG (crypto.randomFillSync), drawn from a pooled buffer so a
// single draw is not a syscall. Integers are uniform: rejection sampling, never a biased modulo.
import { randomFillSync } from 'node:crypto';
import type { Random } from '../random.js';

/** Bytes fetched from the OS per refill; small enough to be cheap, large enough to amortise the syscall. */
const poolBytes = 4096;
const two32 = 2 ** 32;
const two53 = 2 ** 53;

class CryptoRandom implements Random {
  private readonly pool = Buffer.allocUnsafe(poolBytes);
  private offset = poolBytes;

  private take(count: number): number {
    if (this.offset + count > poolBytes) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += count;
    return at;
  }

  private uint32(): number {
    return this.pool.readUInt32LE(this.take(4));
  }

  /** A uniform integer in [0, 2^53). */
  private uint53(): number {
    const at = this.take(7);
    const high = this.pool.readUIntLE(at, 3) & 0x1fffff; // 21 bits
    return high * two32 + this.pool.readUInt32LE(at + 3);
  }

  next(): number {
    return this.uint53() / two53;
  }

  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`random.int: maxExclusive must be a positive safe integer, got ${maxExclusive}`);
    }
    if (maxExclusive <= two32) {
      // Accept only draws below the largest multiple of maxExclusive, so every residue is equally likely.
      const limit = two32 - (two32 % maxExclusive);
      for (;;) {
        const u = this.uint32();
        if (u < limit) return u % maxExclusive;
      }
    }
    const limit = two53 - (two53 % maxExclusive);
    for (;;) {
      const u = this.uint53();
      if (u < limit) return u % maxExclusive;
    }
  }

  range(min: number, maxExclusive: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(maxExclusive) || maxExclusive <= min) {
      throw new RangeError(`random.range: need safe integers min < maxExclusive, got [${min}, ${maxExclusive})`);
    }
    return min + this.int(maxExclusive - min);
  }

  bytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`random.bytes: length must be a non-negative integer, got ${length}`);
    }
    const out = new Uint8Array(length);
    if (length > poolBytes / 4) return randomFillSync(out);
    const at = this.take(length);
    out.set(this.pool.subarray(at, at + length));
    return out;
  }

  split(_label: string): Random {
    // Real randomness is not reproducible anyway; an independent crypto-backed stream is the honest split.
    return new CryptoRandom();
  }
}

/** A Random drawing from the OS's cryptographic generator. */
export function createRealRandom(): Random {
  return new CryptoRandom();
}
