// The CBOR codec of every frame: standard CBOR (RFC 8949) maps via cbor-x with its record extension off, so any
// CBOR implementation can talk to a node. Invariant: no frame larger than the size limit is produced or decoded,
// and byte strings decode as views into the frame (record batches are never copied here).
import { Encoder } from 'cbor-x';
import { frameBytesMax, frameSpliceBytesMin, frameSplicePartsMax } from '../limits.js';
import { RaftlineError } from './errors.js';

const encoder = new Encoder({
  // Plain CBOR maps, no cbor-x record extension (tag 105) that other decoders would not understand.
  useRecords: false,
  mapsAsObjects: true,
  // Uint8Array as a plain byte string (major type 2) rather than tag 64, like Buffer.
  tagUint8Array: false,
  // Decoded byte strings are views into the frame, not copies (a Buffer when the frame is a Buffer, as ws gives).
  copyBuffers: false,
});

export type FrameDecodeResult =
  | { ok: true; value: unknown }
  | { ok: false; code: 'MESSAGE_TOO_LARGE' | 'CORRUPT_MESSAGE'; reason: string };

/** Encodes `value` as one CBOR item; throws RaftlineError(MESSAGE_TOO_LARGE) when it exceeds `bytesMax`. */
export function encodeFrame(value: unknown, bytesMax: number = frameBytesMax): Uint8Array {
  const bytes: Uint8Array = encoder.encode(value);
  if (bytes.byteLength > bytesMax) {
    throw new RaftlineError('MESSAGE_TOO_LARGE', `frame of ${bytes.byteLength} bytes exceeds the limit of ${bytesMax}`);
  }
  return bytes;
}

/** Decodes exactly one CBOR item filling `bytes`. Never throws: bad input is a CORRUPT_MESSAGE result. */
export function decodeFrame(bytes: Uint8Array, bytesMax: number = frameBytesMax): FrameDecodeResult {
  if (bytes.byteLength > bytesMax) {
    return { ok: false, code: 'MESSAGE_TOO_LARGE', reason: `frame of ${bytes.byteLength} bytes exceeds the limit of ${bytesMax}` };
  }
  if (bytes.byteLength === 0) return { ok: false, code: 'CORRUPT_MESSAGE', reason: 'empty frame' };
  try {
    // cbor-x rejects trailing bytes after the first item ("end of buffer not reached"), so a frame is one item.
    return { ok: true, value: encoder.decode(bytes) as unknown };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, code: 'CORRUPT_MESSAGE', reason: `not a CBOR item: ${detail}` };
  }
}

// ---- vectored frames: large byte strings are not copied into the CBOR output ----

/**
 * A placeholder stands in for a large byte string while the rest is encoded: 12 fixed bytes and the index of the
 * string it replaces. cbor-x writes it as the byte string header 0x50 (16 bytes follow) and its bytes as they are.
 */
const placeholderMagic = Buffer.from('52464c2d53504c4943452d31', 'hex'); // "RFL-SPLICE-1"
const placeholderBytes = 16;
const placeholderHead = 0x40 + placeholderBytes;

function placeholder(index: number): Buffer {
  const p = Buffer.alloc(placeholderBytes);
  placeholderMagic.copy(p, 0);
  p.writeUInt32BE(index, 12);
  return p;
}

/** The CBOR head of a byte string of `length` bytes (major type 2, RFC 8949 §3.1). */
function byteStringHead(length: number): Buffer {
  if (length < 24) return Buffer.from([0x40 + length]);
  if (length < 0x100) return Buffer.from([0x58, length]);
  if (length < 0x10000) {
    const h = Buffer.alloc(3);
    h[0] = 0x59;
    h.writeUInt16BE(length, 1);
    return h;
  }
  const h = Buffer.alloc(5);
  h[0] = 0x5a;
  h.writeUInt32BE(length, 1);
  return h;
}

/**
 * A copy of `value` in which every byte string of at least `bytesMin` bytes is replaced by a placeholder (pushed to
 * `spliced`), or `value` itself when it holds none: objects on the path to a large byte string are copied
 * shallowly, nothing else is.
 */
function withPlaceholders(value: unknown, bytesMin: number, spliced: Uint8Array[], depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (value instanceof Uint8Array) {
    if (value.byteLength < bytesMin || spliced.length >= frameSplicePartsMax) return value;
    spliced.push(value);
    return placeholder(spliced.length - 1);
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = withPlaceholders(v, bytesMin, spliced, depth + 1);
      if (w !== v) (out ??= value.slice())[i] = w;
    }
    return out ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const w = withPlaceholders(v, bytesMin, spliced, depth + 1);
    if (w !== v) (out ??= { ...(value as Record<string, unknown>) })[key] = w;
  }
  return out ?? value;
}

/**
 * Encodes `value` as one CBOR frame given as parts to be sent back to back (Connection.sendParts): byte strings of
 * at least `bytesMin` bytes are parts of their own, never copied; the small parts between them hold the rest of the
 * encoding and each large string's CBOR head. The parts joined are byte for byte what `encodeFrame(value)` gives.
 * Throws RaftlineError(MESSAGE_TOO_LARGE) when the frame would exceed `bytesMax`.
 */
export function encodeFrameParts(value: unknown, bytesMax: number = frameBytesMax, bytesMin: number = frameSpliceBytesMin): Uint8Array[] {
  const spliced: Uint8Array[] = [];
  const stripped = withPlaceholders(value, bytesMin, spliced, 0);
  if (spliced.length === 0) return [encodeFrame(value, bytesMax)];
  const head: Uint8Array = encoder.encode(stripped);
  const encoded = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  let total = encoded.length - spliced.length * (1 + placeholderBytes);
  for (const s of spliced) total += byteStringHead(s.byteLength).length + s.byteLength;
  if (total > bytesMax) throw new RaftlineError('MESSAGE_TOO_LARGE', `frame of ${total} bytes exceeds the limit of ${bytesMax}`);
  const parts: Uint8Array[] = [];
  let from = 0;
  let found = 0;
  for (let at = encoded.indexOf(placeholderMagic); at >= 0; at = encoded.indexOf(placeholderMagic, at + placeholderBytes)) {
    const index = encoded.readUInt32BE(at + 12);
    // Only a placeholder exactly where this walk put it counts; anything else (the magic inside other bytes, which
    // only a byte string could hold, and those are below bytesMin here) makes this frame take the copying path.
    if (encoded[at - 1] !== placeholderHead || index !== found || at + placeholderBytes > encoded.length) return [encodeFrame(value, bytesMax)];
    const s = spliced[index]!;
    parts.push(Buffer.concat([encoded.subarray(from, at - 1), byteStringHead(s.byteLength)]));
    parts.push(s);
    from = at + placeholderBytes;
    found++;
  }
  if (found !== spliced.length) return [encodeFrame(value, bytesMax)];
  parts.push(encoded.subarray(from));
  let sum = 0;
  for (const p of parts) sum += p.byteLength;
  if (sum !== total) throw new Error(`codec: spliced frame is ${sum} bytes, expected ${total}`);
  return parts;
}
