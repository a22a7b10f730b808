// In-process frames: between nodes that run in one process and the same code (the simulator), a frame may carry a
// private deep copy of its envelope instead of CBOR bytes, so the receiver skips encoding, decoding and zod validation.
// Invariants: the mode is off unless a host turns it on (the real network never sees such a frame: an empty frame is
// CORRUPT_MESSAGE there); each delivery gets its own copy, so no node can reach another's objects; a value the wire
// could not carry the same way (a Map, a class instance) throws instead of passing silently.
import type { Envelope } from './envelope.js';

let enabled = false;

/** Turns in-process frames on or off for this process (the simulator, for the length of a run); returns the old value. */
export function setInProcessFrames(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

export function inProcessFramesEnabled(): boolean {
  return enabled;
}

/**
 * A frame that carries its envelope. It is an empty Uint8Array, so it passes through the Network port unchanged;
 * `sizeBytes` estimates what the CBOR frame would weigh (for traces and in-flight accounting, not exact).
 */
export class InProcessFrame extends Uint8Array {
  private claimed = false;

  private constructor(
    readonly envelope: Envelope,
    readonly sizeBytes: number,
  ) {
    super(0);
  }

  /** A private copy of `envelope` (the sender may change its objects after sending, as it may reuse a buffer). */
  static carrying(envelope: Envelope): InProcessFrame {
    const size = { bytes: 0 };
    const copy = copyWireValue(envelope, size, 0) as Envelope;
    return new InProcessFrame(copy, size.bytes);
  }

  /** This frame for its first delivery, a fresh copy for every later one (a duplicate, a frame sent twice). */
  claim(): InProcessFrame {
    if (!this.claimed) {
      this.claimed = true;
      return this;
    }
    return InProcessFrame.carrying(this.envelope);
  }

  // Typed-array methods that build a new array (slice, subarray, map, filter) construct through Symbol.species: plain
  // Uint8Arrays, never a half-built InProcessFrame.
  static get [Symbol.species](): Uint8ArrayConstructor {
    return Uint8Array;
  }
}

const depthMax = 64;

/**
 * Deep-copies a value as a CBOR round trip would give it back (byte strings as Buffers, like the decoder's views),
 * adding an estimate of its CBOR size to `size`.
 */
function copyWireValue(value: unknown, size: { bytes: number }, depth: number): unknown {
  if (depth > depthMax) throw new TypeError('in-process frame: value nested too deep');
  switch (typeof value) {
    case 'string':
      size.bytes += value.length + 1;
      return value;
    case 'number':
      size.bytes += Number.isInteger(value) && Math.abs(value) < 24 ? 1 : 5;
      return value;
    case 'boolean':
    case 'undefined':
      size.bytes += 1;
      return value;
    case 'bigint':
      size.bytes += 9;
      return value;
    case 'object': {
      if (value === null) {
        size.bytes += 1;
        return null;
      }
      if (value instanceof Uint8Array) {
        size.bytes += value.byteLength + 3;
        return Buffer.from(value);
      }
      if (Array.isArray(value)) {
        size.bytes += 1;
        const out: unknown[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) out[i] = copyWireValue(value[i], size, depth + 1);
        return out;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`in-process frame: cannot carry a ${(value as object).constructor?.name ?? 'non-plain object'}; use the wire check mode`);
      }
      size.bytes += 1;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        size.bytes += key.length + 1;
        out[key] = copyWireValue((value as Record<string, unknown>)[key], size, depth + 1);
      }
      return out;
    }
    default:
      throw new TypeError(`in-process frame: cannot carry a ${typeof value}`);
  }
}
