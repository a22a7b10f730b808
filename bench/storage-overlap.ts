// The ceiling of the append path in isolation: 64 writes of 1 MiB into the page cache, raw, with the CRC32C computed
// before each write (validate, then write), and with it computed while the write is in flight (what Segment.append
// does). Prints each order's throughput as a ratio to raw, best of BENCH_ROUNDS (default 3). On a machine with a free
// core the overlapped order approaches raw; with none, both orders cost the same CPU and land together.
// Run: node --import tsx bench/storage-overlap.ts   (BENCH_DIR the place)
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, crc32cImplementation } from '../src/storage/crc32c.js';

const MiB = 1024 * 1024;
const writes = 64;
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const dir = process.env.BENCH_DIR ?? tmpdir();
const path = join(dir, `raftline-bench-overlap-${process.pid}`);

const data = Buffer.alloc(writes * MiB);
for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i >>> 0, i);

type Order = 'raw' | 'crc-then-write' | 'overlapped';

async function once(file: fs.FileHandle, order: Order): Promise<number> {
  await file.truncate(0);
  const t0 = performance.now();
  let sum = 0;
  for (let i = 0; i < writes; i++) {
    const at = i * MiB;
    if (order === 'raw') {
      await file.write(data, at, MiB, at);
    } else if (order === 'crc-then-write') {
      sum ^= crc32c(data, 0, at, at + MiB);
      await file.write(data, at, MiB, at);
    } else {
      const written = file.write(data, at, MiB, at);
      sum ^= crc32c(data, 0, at, at + MiB);
      await written;
    }
  }
  // The CRCs are used, so no engine can drop their computation.
  if (sum === 0x1234_5678) console.log('(improbable CRC)');
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const file = await fs.open(path, 'w+');
  const best: Record<Order, number> = { raw: Infinity, 'crc-then-write': Infinity, overlapped: Infinity };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const order of Object.keys(best) as Order[]) best[order] = Math.min(best[order], await once(file, order));
    }
  } finally {
    await file.close();
    await fs.rm(path, { force: true });
  }
  console.log(`CRC32C ${crc32cImplementation}; ${writes} x 1 MiB, best of ${rounds}`);
  for (const order of Object.keys(best) as Order[]) {
    const ms = best[order];
    console.log(`  ${order.padEnd(15)} ${ms.toFixed(1).padStart(7)} ms  ${((writes / ms) * 1000).toFixed(0).padStart(6)} MiB/s  ratio to raw ${(best.raw / ms).toFixed(2)}`);
  }
}

await main();
