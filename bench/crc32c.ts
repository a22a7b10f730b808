// The CRC32C implementations side by side: every native one that loads here (aws-crt, @node-rs/crc32) and the
// portable slicing-by-16, on 1 MiB, 256 KiB, 16 KiB and 1 KiB buffers of random bytes. Before timing, each native one
// must give the portable one's result on random buffers of random lengths, offsets and seeds; a mismatch aborts.
// Prints GB/s and microseconds of CPU per MiB (best of BENCH_ROUNDS, default 5), the figure the append path pays.
// Run: node --import tsx bench/crc32c.ts
import { randomBytes, randomInt } from 'node:crypto';
import { crc32cImplementation, crc32cPortable, nativeCrc32cImplementations } from '../src/storage/crc32c.js';

const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const MiB = 1024 * 1024;

type Fn = (data: Uint8Array) => number;
const impls: Array<{ name: string; fn: Fn }> = [
  ...nativeCrc32cImplementations.map((i) => ({ name: i.name, fn: (d: Uint8Array) => i.crc32c(d, 0) >>> 0 })),
  { name: 'portable', fn: (d: Uint8Array) => crc32cPortable(d) },
];

for (const impl of nativeCrc32cImplementations) {
  for (let n = 0; n < 2000; n++) {
    const data = randomBytes(randomInt(0, 70_000));
    const start = data.length === 0 ? 0 : randomInt(0, data.length);
    const seed = randomInt(0, 2 ** 32 - 1);
    const got = impl.crc32c(data.subarray(start), seed) >>> 0;
    const want = crc32cPortable(data, seed, start);
    if (got !== want) throw new Error(`${impl.name} gave ${got} for ${data.length - start} bytes (seed ${seed}), portable ${want}`);
  }
}
console.log(`CRC32C implementations (serving the log: ${crc32cImplementation}); each native one matched the portable one on 2000 random buffers`);

for (const size of [MiB, 256 * 1024, 16 * 1024, 1024]) {
  const data = randomBytes(size);
  const line: string[] = [];
  for (const { name, fn } of impls) {
    // About 64 MiB per round for the native ones, 8 MiB for the portable one.
    const iterations = Math.max(16, Math.floor((name === 'portable' ? 8 : 64) * MiB / size));
    for (let i = 0; i < Math.min(iterations, 200); i++) fn(data);
    let bestMs = Infinity;
    let sink = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) sink ^= fn(data);
      bestMs = Math.min(bestMs, performance.now() - t0);
    }
    if (sink === 0x1234_5678) console.log('(improbable CRC)');
    const bytes = size * iterations;
    const gbps = bytes / (bestMs / 1000) / 1e9;
    const usPerMiB = (bestMs * 1000) / (bytes / MiB);
    line.push(`${name} ${gbps.toFixed(2).padStart(6)} GB/s ${usPerMiB.toFixed(0).padStart(5)} us/MiB`);
  }
  console.log(`${(size / 1024).toFixed(0).padStart(5)} KiB  ${line.join('   ')}`);
}
