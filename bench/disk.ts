// Disk benchmark: the real Disk's append and read paths against raw node:fs/promises doing the same syscalls, so
// the cost of the port (ordering queue, typed errors) is visible. Sequential awaited 4 KiB appends, then reads.
//
//   node --import tsx bench/disk.ts [--count 20000]
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRealDisk } from '../src/runtime/real/disk.js';

const args = process.argv.slice(2);
const countArg = args.indexOf('--count');
const count = countArg >= 0 ? Number(args[countArg + 1]) : 20_000;
const block = new Uint8Array(4096).fill(1);

async function timed(label: string, run: () => Promise<void>): Promise<Record<string, string>> {
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  return { case: label, 'ops/s': ((count / ms) * 1000).toFixed(0), 'µs/op': ((ms * 1000) / count).toFixed(1) };
}

const root = await fs.mkdtemp(path.join(tmpdir(), 'raftline-bench-disk-'));
try {
  const rows: Array<Record<string, string>> = [];
  const raw = await fs.open(path.join(root, 'raw.log'), 'w+');
  let position = 0;
  rows.push(await timed('raw fs append 4 KiB', async () => {
    for (let i = 0; i < count; i++) {
      await raw.write(block, 0, block.byteLength, position);
      position += block.byteLength;
    }
  }));
  rows.push(await timed('raw fs read 4 KiB', async () => {
    const buffer = Buffer.allocUnsafe(4096);
    for (let i = 0; i < count; i++) await raw.read(buffer, 0, 4096, i * 4096);
  }));
  await raw.close();

  const disk = createRealDisk(root);
  const file = await disk.open('port.log', { create: true });
  rows.push(await timed('Disk append 4 KiB', async () => {
    for (let i = 0; i < count; i++) await file.append(block);
  }));
  rows.push(await timed('Disk read 4 KiB', async () => {
    for (let i = 0; i < count; i++) await file.read(i * 4096, 4096);
  }));
  await file.close();
  console.table(rows);
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
