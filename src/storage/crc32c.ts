// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka uses for record batches. Large inputs go to the
// hardware-accelerated native CRC of @node-rs/crc32 when it loads (it ships prebuilt for the common platforms); our own
// table-driven slicing-by-16 serves small inputs and any platform without the native module. A spec checks the two
// agree. Invariant: crc32c(a ++ b) === crc32c(b, crc32c(a)) — the running value can be carried across chunks.
import { createRequire } from 'node:module';

const POLY = 0x82f63b78;
const SLICES = 16;

/** SLICES tables of 256 entries, flattened: table k advances a byte k positions further than table 0. */
const T: Uint32Array = (() => {
  const t = new Uint32Array(256 * SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (t[prev & 0xff]! ^ (prev >>> 8)) >>> 0;
    }
  }
  return t;
})();

/** The word-at-a-time path reads 32-bit words in platform order; it is only correct on little-endian hosts. */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bytewise(crc: number, data: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) crc = T[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

/** The native CRC, or undefined where the module or its platform binary is missing. */
const native: NativeCrc32c | undefined = (() => {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c };
    const fn = mod.crc32c;
    // Refuse a native module that does not give the standard check value of "123456789".
    return fn !== undefined && fn(Buffer.from('123456789')) === 0xe3069283 ? fn : undefined;
  } catch {
    return undefined;
  }
})();

/** Below this many bytes the call into native code costs more than it saves. */
const nativeBytesMin = 1024;

/** Whether large inputs use the native CRC (reported by benchmarks). */
export const crc32cNative = native !== undefined;

/** CRC32C of `data[start, end)`. Pass the previous result as `seed` to continue a checksum over several chunks. */
export function crc32c(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  if (start < 0 || end > data.length || start > end) throw new RangeError(`crc32c range ${start}..${end} outside 0..${data.length}`);
  if (native !== undefined && end - start >= nativeBytesMin) {
    return native(Buffer.from(data.buffer, data.byteOffset + start, end - start), seed) >>> 0;
  }
  return crc32cPortable(data, seed, start, end);
}

/** The portable implementation (slicing-by-16), exported so specs can compare it with the native path. */
export function crc32cPortable(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  if (start < 0 || end > data.length || start > end) throw new RangeError(`crc32c range ${start}..${end} outside 0..${data.length}`);
  let crc = ~seed >>> 0;
  if (!littleEndian || end - start < 64) return ~bytewise(crc, data, start, end) >>> 0;
  // Align to a 4-byte boundary of the underlying buffer so the words can be read through an Int32Array view.
  let i = start;
  const misaligned = (4 - ((data.byteOffset + i) & 3)) & 3;
  crc = bytewise(crc, data, i, i + misaligned);
  i += misaligned;
  const blocks = (end - i) >>> 4;
  const words = new Int32Array(data.buffer, data.byteOffset + i, blocks * 4);
  // Sixteen bytes per step: fold the CRC into the first word, then look every byte up in its own table.
  for (let w = 0; w < words.length; w += 4) {
    const a = words[w]! ^ crc;
    const b = words[w + 1]!;
    const c = words[w + 2]!;
    const d = words[w + 3]!;
    crc =
      T[3840 + (a & 0xff)]! ^ T[3584 + ((a >>> 8) & 0xff)]! ^ T[3328 + ((a >>> 16) & 0xff)]! ^ T[3072 + (a >>> 24)]! ^
      T[2816 + (b & 0xff)]! ^ T[2560 + ((b >>> 8) & 0xff)]! ^ T[2304 + ((b >>> 16) & 0xff)]! ^ T[2048 + (b >>> 24)]! ^
      T[1792 + (c & 0xff)]! ^ T[1536 + ((c >>> 8) & 0xff)]! ^ T[1280 + ((c >>> 16) & 0xff)]! ^ T[1024 + (c >>> 24)]! ^
      T[768 + (d & 0xff)]! ^ T[512 + ((d >>> 8) & 0xff)]! ^ T[256 + ((d >>> 16) & 0xff)]! ^ T[d >>> 24]!;
  }
  i += blocks * 16;
  return ~bytewise(crc, data, i, end) >>> 0;
}
