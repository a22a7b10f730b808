// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka uses for record batches. Inputs of a few dozen bytes
// and more go to a hardware-accelerated native CRC: aws-crt's (aws-c-checksums: SSE4.2 CRC32 instructions over
// interleaved streams, or PCLMUL/VPCLMUL folding; ~10-20 GB/s) when its prebuilt binary loads, else @node-rs/crc32's
// (~2-4 GB/s), else our own table-driven slicing-by-16, which also serves small inputs. Each native candidate must give
// the standard check values before it is used, and a spec checks every one that loads against the portable code.
// Invariant: crc32c(a ++ b) === crc32c(b, crc32c(a)) — the running value can be carried across chunks.
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';

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

/** A native CRC32C: the CRC of all of `input`, continuing from `seed` (0 for a fresh checksum). */
type NativeCrc32c = (input: Uint8Array, seed: number) => number;

export interface NativeCrc32cImplementation {
  /** The package it comes from, as benchmarks and logs name it. */
  readonly name: 'aws-crt' | '@node-rs/crc32';
  readonly crc32c: NativeCrc32c;
  /** Below this many bytes the call into native code costs more than the portable code (measured on x86-64). */
  readonly bytesMin: number;
}

const requireHere = createRequire(import.meta.url);

/** Accepts a candidate only when it gives the check value of "123456789" and carries a seed across chunks. */
function passesCheckValues(fn: NativeCrc32c): boolean {
  const digits = Buffer.from('123456789');
  return fn(digits, 0) >>> 0 === 0xe3069283 && fn(digits.subarray(4), fn(digits.subarray(0, 4), 0) >>> 0) >>> 0 === 0xe3069283;
}

/**
 * aws-crt's native binding, loaded on its own: the package's JavaScript entry point would also load its HTTP, MQTT
 * and crypto layers (and spawn `ldd` to pick a binary), none of which a broker wants. The package ships one prebuilt
 * binary per platform under dist/bin/<platform>-<arch>-<libc>; where the C library is unknown, the glibc build is
 * tried before the musl one (a mismatched one fails to load, and the next is tried).
 */
function loadAwsCrt(): NativeCrc32c | undefined {
  let root: string;
  try {
    root = dirname(requireHere.resolve('aws-crt/package.json'));
  } catch {
    return undefined;
  }
  const flavours = platform() === 'linux' ? ['glibc', 'musl'] : ['cruntime'];
  for (const flavour of flavours) {
    try {
      const binding = requireHere(join(root, 'dist', 'bin', `${platform()}-${arch()}-${flavour}`, 'aws-crt-nodejs.node')) as {
        checksums_crc32c?: (input: Uint8Array, previous: number) => number;
      };
      const fn = binding.checksums_crc32c;
      if (typeof fn === 'function') return (input, seed) => fn(input, seed);
    } catch {
      // Not this flavour (or no binary for this platform): try the next.
    }
  }
  return undefined;
}

function loadNodeRs(): NativeCrc32c | undefined {
  try {
    const fn = (requireHere('@node-rs/crc32') as { crc32c?: (input: Buffer, initialState?: number) => number }).crc32c;
    if (fn === undefined) return undefined;
    return (input, seed) => fn(Buffer.from(input.buffer, input.byteOffset, input.byteLength), seed);
  } catch {
    return undefined;
  }
}

/**
 * Every native CRC32C that loads here and passes the check values, fastest first. The first one serves `crc32c`;
 * the list is exported so specs check each against the portable code, fallbacks included.
 */
export const nativeCrc32cImplementations: readonly NativeCrc32cImplementation[] = (() => {
  const found: NativeCrc32cImplementation[] = [];
  const aws = loadAwsCrt();
  // aws-crt's call costs ~0.2 us; at 64 bytes the portable code takes about as long.
  if (aws !== undefined && passesCheckValues(aws)) found.push({ name: 'aws-crt', crc32c: aws, bytesMin: 64 });
  const nodeRs = loadNodeRs();
  // @node-rs/crc32 runs at 2-4 GB/s: it pulls ahead of the portable code from about 1 KiB.
  if (nodeRs !== undefined && passesCheckValues(nodeRs)) found.push({ name: '@node-rs/crc32', crc32c: nodeRs, bytesMin: 1024 });
  return found;
})();

const native: NativeCrc32cImplementation | undefined = nativeCrc32cImplementations[0];
const nativeFn: NativeCrc32c | undefined = native?.crc32c;
const nativeBytesMin = native?.bytesMin ?? Number.POSITIVE_INFINITY;

/** Whether large inputs use a native CRC (reported by benchmarks). */
export const crc32cNative = native !== undefined;

/** Which implementation serves inputs of `nativeBytesMin` bytes and more: a native package's name, or 'portable'. */
export const crc32cImplementation: string = native?.name ?? 'portable';

/** CRC32C of `data[start, end)`. Pass the previous result as `seed` to continue a checksum over several chunks. */
export function crc32c(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  if (start < 0 || end > data.length || start > end) throw new RangeError(`crc32c range ${start}..${end} outside 0..${data.length}`);
  if (nativeFn !== undefined && end - start >= nativeBytesMin) {
    // A plain view, not Buffer#subarray: this runs once per batch on the append path, and a Buffer costs more to make.
    return nativeFn(start === 0 && end === data.length ? data : new Uint8Array(data.buffer, data.byteOffset + start, end - start), seed) >>> 0;
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
