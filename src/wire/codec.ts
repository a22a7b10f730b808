// The CBOR codec of every frame: standard CBOR (RFC 8949) maps via cbor-x with its record extension off, so any
// CBOR implementation can talk to a node. Invariant: no frame larger than the size limit is produced or decoded,
// and byte strings decode as views into the frame (record batches are never copied here).
import { Encoder } from 'cbor-x';
import { frameBytesMax } from '../limits.js';
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
