// `make bench-storage`: the partition log against the raw file system on the same disk, with the same bytes.
// For each batch size it appends 1 KiB records in batches of that size through PartitionLog.appendAsLeader, reads
// them back with consumer-sized reads, then writes and reads the same bytes with plain positional fs calls, and
// prints both throughputs and their ratio, plus memory as the log grows (the indexes are sparse, so it stays flat).
// Neither side fsyncs per write (Kafka's default: rely on replication); each ends with one flush, timed separately.
// The first write of each side is timed separately too: the log's first append in a new leader epoch writes the
// leader-epoch checkpoint (write, fsync, rename, fsync of the directory), a once-per-epoch cost the raw side has no
// counterpart for; keeping it inside the timed loop would compare two fsyncs against none. Both sides then time the
// same remaining bytes in the same write sizes.
// Besides wall-clock throughput it prints the CPU time each side spent per MiB appended (process.cpuUsage, every thread
// of the process, the libuv pool's copies into the page cache included): on a saturated shared machine the wall-clock
// ratio swings with the neighbours' load, while the CPU ratio shows the work each side needs, which bounds the
// wall-clock ratio whenever the process gets only one core's share.
// Before the timed rounds, each side runs untimed on a short log read back many times, so V8 has compiled both sides'
// loops and the log's read path: without it those compiles (25-40 ms each on a background thread) land inside timed
// reads, where they cost the log, whose read path is far more code (256 KiB read ratio, interleaved A/B on 2 vCPUs:
// 0.60-0.67 without the warm-up, 0.73-1.22 with it; docs/storage.md, "The read ratio at 256 KiB batches").
// Run: make bench-storage, which bundles this file like dist/broker.js and runs dist/bench-storage.js (through tsx,
// every closure the log creates pays a name-keeping Object.defineProperty that the shipped bundle does not; see
// docs/storage.md, "Measured as it ships"). Options: BENCH_STORAGE_MB=256 bytes per batch size,
// BENCH_BATCH_KIB=16,256,1024 the batch sizes, BENCH_ROUNDS=5 interleaved rounds (each a raw run then a log run),
// BENCH_DIR the place; for diagnosis BENCH_WARMUP, BENCH_READS, BENCH_TRACE and BENCH_MARKS, described below.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { silentLogger } from '../src/runtime/logger.js';
import type { Clock } from '../src/runtime/clock.js';
import { openLog, type PartitionLog } from '../src/storage/partition-log.js';
import { encodeBatch } from '../src/storage/record-batch.js';
import { createRealDisk } from '../src/runtime/real/disk.js';
import { crc32cImplementation } from '../src/storage/crc32c.js';
import { fallocateAvailable } from '../src/runtime/real/fallocate.js';
import { defaultLogConfig } from '../src/storage/log-config.js';
import { tuneMalloc } from '../src/runtime/real/malloc.js';
import { mallocTrimThresholdBytesDefault } from '../src/limits.js';

const MiB = 1024 * 1024;
const totalBytes = Number(process.env.BENCH_STORAGE_MB ?? 256) * MiB;
const baseDir = process.env.BENCH_DIR ?? join(tmpdir(), `raftline-bench-storage-${process.pid}`);
const batchSizes = (process.env.BENCH_BATCH_KIB ?? '16,256,1024').split(',').map((k) => Number(k) * 1024);
const recordBytes = 1024;
// On a shared machine a round can lose half its speed to a neighbour's build: each side's best round is its speed when
// it was not disturbed, and the median of the rounds' paired ratios is the ratio least moved by the neighbours.
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));

// The benchmark is a host program like the broker's composition root: it may read the real clock.
const clock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

// BENCH_WARMUP=3 untimed warm-up runs of each side per batch size (0 to see what JIT compiles inside timed loops cost).
const warmups = Math.max(0, Number(process.env.BENCH_WARMUP ?? 3));
const warmupReads = 40;
// BENCH_READS=1 read-backs per timed round; the first is the one that counts (the later ones show what changes).
const timedReads = Math.max(1, Number(process.env.BENCH_READS ?? 1));
// BENCH_TRACE=1 prints each round's phases with the GC pauses and fresh page faults inside them; BENCH_MARKS=1 writes
// each timed loop's start and end on CLOCK_MONOTONIC (process.hrtime) to stderr, to line them up with `perf record -k
// CLOCK_MONOTONIC` samples or `node --trace-opt` output.
const traceRounds = process.env.BENCH_TRACE === '1';
const gcPauses: PerformanceEntry[] = [];
if (traceRounds) new PerformanceObserver((list) => gcPauses.push(...list.getEntries())).observe({ entryTypes: ['gc'] });
const mark = (what: string): void => {
  if (process.env.BENCH_MARKS === '1') process.stderr.write(`MARK ${what} ${process.hrtime.bigint()}\n`);
};

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function seconds(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

function mbps(bytes: number, s: number): string {
  return `${(bytes / MiB / s).toFixed(0).padStart(6)} MiB/s`;
}

function memMiB(): string {
  const m = process.memoryUsage();
  return `rss ${(m.rss / MiB).toFixed(0)} MiB, heap ${(m.heapUsed / MiB).toFixed(0)} MiB`;
}

/** A pool of distinct producer batches of about `batchBytes`, reused round-robin (the leader rewrites only headers). */
function makeBatches(batchBytes: number): Buffer[] {
  const perBatch = Math.max(1, Math.round(batchBytes / recordBytes));
  const pool: Buffer[] = [];
  for (let b = 0; b < 8; b++) {
    const records = Array.from({ length: perBatch }, (_, i) => {
      const value = Buffer.alloc(recordBytes);
      for (let k = 0; k < recordBytes; k += 64) value.writeUInt32BE((b * 7919 + i * 31 + k) >>> 0, k);
      return { key: null, value };
    });
    pool.push(encodeBatch({ records, timestamp: Date.now() }));
  }
  return pool;
}

interface Run {
  /** The first append (log: includes the leader-epoch checkpoint's fsyncs) or first write (raw). */
  firstS: number;
  flushS: number;
  /** Every later append or write: count - 1 batches. CPU time is user + system of all threads. */
  append: Phase;
  /** Reading all count batches back (the first time: the reads a consumer following the log makes). */
  read: Phase;
  /** Every read-back, the first included (BENCH_READS of them in timed rounds). */
  reads: Phase[];
}

// The timed loops live in small functions of their own, called once per round and by the warm-up: V8 then compiles
// them (and the log's read path under them) during the warm-up, not in the middle of a timed loop. A long async
// function that contains the loops gets optimized only after several rounds, and its compile (20-35 ms of a
// background thread on this 2-vCPU machine) then lands inside whichever timed loop is running.

/** Appends pool batches 1..count-1 (the first is timed apart); samples memory twice as the log grows. */
async function appendAll(log: PartitionLog, pool: Buffer[], count: number, memory: string[]): Promise<void> {
  const size = pool[0]!.length;
  for (let i = 1; i < count; i++) {
    await log.appendAsLeader(pool[i % pool.length]!, 1);
    if (i === Math.floor(count / 4) || i === count - 1) {
      memory.push(`${(((i + 1) * size) / MiB).toFixed(0)} MiB logged: ${memMiB()}, sparse indexes ${(log.indexMemoryBytes / 1024).toFixed(0)} KiB`);
    }
  }
}

/** One read; returns only numbers, so the read's bytes are garbage once it returns, as the raw side's are. */
async function readOnce(log: PartitionLog, fromOffset: number, maxBytes: number): Promise<[number, number]> {
  const r = await log.read({ fromOffset, maxBytes });
  return [r.bytes.length, r.nextOffset];
}

/**
 * Reads the whole log as a consumer would, `readMax` bytes at a time; returns the bytes read. A `const r = await
 * log.read()` in this loop would keep the previous read's bytes alive during the next read (an async function's
 * locals live on until overwritten), which the raw loop does not: see readAllRaw.
 */
async function readAllLog(log: PartitionLog, readMax: number): Promise<number> {
  let offset = 0;
  let readBytes = 0;
  while (offset < log.logEndOffset) {
    const [n, next] = await readOnce(log, offset, readMax);
    readBytes += n;
    offset = next;
  }
  return readBytes;
}

/** Writes pool batches 1..count-1 after the first, back to back; returns the end position. */
async function writeAllRaw(raw: FileHandle, pool: Buffer[], count: number): Promise<number> {
  let position = pool[0]!.length;
  for (let i = 1; i < count; i++) {
    const b = pool[i % pool.length]!;
    await raw.write(b, 0, b.length, position);
    position += b.length;
  }
  return position;
}

/** Reads `bytes` back in reads of `chunk` into a fresh buffer each (a consumer owns what it is given, as the log's are). */
async function readAllRaw(raw: FileHandle, bytes: number, chunk: number): Promise<number> {
  let done = 0;
  while (done < bytes) {
    const buf = Buffer.allocUnsafe(Math.min(chunk, bytes - done));
    const { bytesRead } = await raw.read(buf, 0, buf.length, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** What a timed loop cost besides its time: GC pauses and fresh pages faulted in, to tell noise from work. */
interface Phase {
  seconds: number;
  cpuSeconds: number;
  /** performance.now() span, to attribute GC pauses (reported asynchronously) afterwards. */
  span: [number, number];
  faults: number;
}

async function timed(name: string, fn: () => Promise<unknown>): Promise<Phase> {
  mark(`${name}-start`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  await fn();
  const t1 = performance.now();
  const cpuS = cpuSeconds(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  mark(`${name}-end`);
  return { seconds: (t1 - t0) / 1000, cpuSeconds: cpuS, span: [t0, t1], faults };
}

/** Appends `count` batches through the partition log, flushes once, and reads everything back `reads` times. */
async function logRun(dir: string, pool: Buffer[], count: number, readMax: number, memory: string[], reads = 1): Promise<Run> {
  await fs.rm(dir, { recursive: true, force: true });
  const size = pool[0]!.length;
  // 1 MiB of 1 KiB records plus framing is just over Kafka's default max.message.bytes; allow 2 MiB batches.
  const log = await openLog({ disk: createRealDisk(), dir, clock, log: silentLogger, config: { maxMessageBytes: 2 * MiB } });
  let t0 = performance.now();
  await log.appendAsLeader(pool[0]!, 1);
  const firstS = seconds(t0);
  const append = await timed('logappend', () => appendAll(log, pool, count, memory));
  t0 = performance.now();
  await log.flush();
  const flushS = seconds(t0);
  const all: Phase[] = [];
  for (let r = 0; r < reads; r++) {
    let readBytes = 0;
    const read = await timed('logread', async () => {
      readBytes = await readAllLog(log, readMax);
    });
    if (readBytes !== count * size) throw new Error(`log read back ${readBytes} bytes, wrote ${count * size}`);
    all.push(read);
  }
  await log.close();
  await fs.rm(dir, { recursive: true, force: true });
  return { firstS, flushS, append, read: all[0]!, reads: all };
}

/** The same bytes with plain positional fs writes of the same sizes into one file, one datasync, reads of readMax. */
async function rawRun(dir: string, pool: Buffer[], count: number, readMax: number, reads = 1): Promise<Run> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const size = pool[0]!.length;
  const bytes = count * size;
  const raw = await fs.open(join(dir, 'data'), 'w+');
  let t0 = performance.now();
  await raw.write(pool[0]!, 0, size, 0);
  const firstS = seconds(t0);
  let end = 0;
  const append = await timed('rawappend', async () => {
    end = await writeAllRaw(raw, pool, count);
  });
  if (end !== bytes) throw new Error(`raw wrote ${end} bytes, meant ${bytes}`);
  t0 = performance.now();
  await raw.datasync();
  const flushS = seconds(t0);
  // The log's reads end at a batch boundary at or below readMax, so the raw side reads whole batches up to readMax too.
  const chunk = Math.max(size, Math.floor(readMax / size) * size);
  const all: Phase[] = [];
  for (let r = 0; r < reads; r++) {
    let done = 0;
    const read = await timed('rawread', async () => {
      done = await readAllRaw(raw, bytes, chunk);
    });
    if (done !== bytes) throw new Error(`raw read back ${done} bytes, wrote ${bytes}`);
    all.push(read);
  }
  await raw.close();
  await fs.rm(dir, { recursive: true, force: true });
  return { firstS, flushS, append, read: all[0]!, reads: all };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The best (least disturbed) of each figure over the rounds: the throughputs printed. */
function best(runs: Run[]): { firstS: number; flushS: number; appendS: number; appendCpuS: number; readS: number; readCpuS: number } {
  const min = (f: (r: Run) => number): number => Math.min(...runs.map(f));
  return {
    firstS: min((r) => r.firstS),
    flushS: min((r) => r.flushS),
    appendS: min((r) => r.append.seconds),
    appendCpuS: min((r) => r.append.cpuSeconds),
    readS: min((r) => r.read.seconds),
    readCpuS: min((r) => r.read.cpuSeconds),
  };
}

async function benchOne(batchBytes: number): Promise<{ appendRatio: number; readRatio: number; cpuRatio: number }> {
  const pool = makeBatches(batchBytes);
  const size = pool[0]!.length;
  // At least two batches: the first is timed on its own, the rest make the throughput.
  const count = Math.max(2, Math.floor(totalBytes / size));
  const bytes = count * size;
  const timedBytes = (count - 1) * size;
  const readMax = Math.max(size, MiB);
  const memory: string[] = [];
  // Untimed warm-up of both sides on a short log read back many times: a round makes only a few hundred reads (256
  // at 1 MiB batches), too few for V8 to optimize the log's read path in the first rounds, and each compile (readLocked
  // alone takes 25-40 ms of a background thread) then lands inside a timed read on this 2-vCPU machine.
  for (let w = 0; w < warmups; w++) {
    const short = Math.min(count, 64);
    await rawRun(join(baseDir, 'raw'), pool, short, readMax, warmupReads);
    await logRun(join(baseDir, 'log'), pool, short, readMax, [], warmupReads);
  }
  // Interleaved, so page-cache writeback of one side's bytes does not penalise only the other.
  const raws: Run[] = [];
  const logs: Run[] = [];
  mark('timed-start');
  for (let round = 0; round < rounds; round++) {
    raws.push(await rawRun(join(baseDir, 'raw'), pool, count, readMax, timedReads));
    logs.push(await logRun(join(baseDir, 'log'), pool, count, readMax, round === rounds - 1 ? memory : [], timedReads));
  }
  if (traceRounds) {
    // GC entries arrive on a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const cost = (p: Phase): string => {
      const pauses = gcPauses.filter((e) => e.startTime >= p.span[0] && e.startTime <= p.span[1]);
      const gcMs = pauses.reduce((sum, e) => sum + e.duration, 0);
      const kinds = pauses.map((e) => ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 1 ? 's' : 'M')).join('');
      return `${(p.seconds * 1000).toFixed(0)} ms (gc ${gcMs.toFixed(1)} ms ${kinds}, ${p.faults} faults)`;
    };
    for (let i = 0; i < rounds; i++) {
      console.log(`  round ${i}: append log ${cost(logs[i]!.append)} raw ${cost(raws[i]!.append)}`);
      logs[i]!.reads.forEach((r, k) => console.log(`    read ${k}: log ${cost(r)} raw ${cost(raws[i]!.reads[k]!)}`));
    }
  }
  const raw = best(raws);
  const log = best(logs);
  // The ratio that counts is the median over the rounds of each round's raw time over its log time: a round's two runs
  // ran back to back, under the same load from the neighbours, so a pair's ratio cancels most of it, and the median
  // drops a round that one side lost alone. The best of one side against the best of the other (printed too) hangs on
  // the single luckiest round of either: in one run its read ratio was 0.74 while all five pairs were 0.74-0.95
  // (docs/storage.md, "Which ratio the bench reports").
  const pairs = (f: (r: Run) => number): number[] => raws.map((r, i) => f(r) / f(logs[i]!));
  const appendPairs = pairs((r) => r.append.seconds);
  const readPairs = pairs((r) => r.read.seconds);
  const appendRatio = median(appendPairs);
  const readRatio = median(readPairs);
  const appendCpuRatio = median(pairs((r) => r.append.cpuSeconds));
  const readCpuRatio = median(pairs((r) => r.read.cpuSeconds));
  const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  console.log(`\nbatch ${(size / 1024).toFixed(1)} KiB x ${count} (${(bytes / MiB).toFixed(0)} MiB of 1 KiB records)`);
  console.log(`  append  log ${mbps(timedBytes, log.appendS)}   raw ${mbps(timedBytes, raw.appendS)}   ratio ${appendRatio.toFixed(2)}   (rounds ${list(appendPairs)}; best against best ${(raw.appendS / log.appendS).toFixed(2)})`);
  console.log(`          final flush: log ${(log.flushS * 1000).toFixed(0)} ms, raw ${(raw.flushS * 1000).toFixed(0)} ms; first append: log ${(log.firstS * 1000).toFixed(1)} ms, raw ${(raw.firstS * 1000).toFixed(1)} ms`);
  const usPerMiB = (cpuS: number): string => ((cpuS * 1e6) / (timedBytes / MiB)).toFixed(0);
  console.log(`  cpu     log ${usPerMiB(log.appendCpuS).padStart(6)} us/MiB raw ${usPerMiB(raw.appendCpuS).padStart(6)} us/MiB ratio ${appendCpuRatio.toFixed(2)}   (CPU time of the appends, all threads)`);
  // Fresh pages faulted in under the read buffers: with glibc's adaptive thresholds (BENCH_MALLOC_TRIM=0) freed buffers
  // go back to the kernel when the top of its heap is free, and each 4 KiB then costs a fault and a zeroing on reuse.
  const faults = (runs: Run[]): string => runs.map((r) => r.read.faults).join(' ');
  console.log(`  read    log ${mbps(bytes, log.readS)}   raw ${mbps(bytes, raw.readS)}   ratio ${readRatio.toFixed(2)}   (rounds ${list(readPairs)}; best against best ${(raw.readS / log.readS).toFixed(2)})`);
  console.log(`          reads of up to ${(readMax / 1024).toFixed(0)} KiB; page faults per round: log ${faults(logs)}, raw ${faults(raws)}`);
  const readUsPerMiB = (cpuS: number): string => ((cpuS * 1e6) / (bytes / MiB)).toFixed(0);
  console.log(`  cpu     log ${readUsPerMiB(log.readCpuS).padStart(6)} us/MiB raw ${readUsPerMiB(raw.readCpuS).padStart(6)} us/MiB ratio ${readCpuRatio.toFixed(2)}   (CPU time of the reads, all threads)`);
  for (const m of memory) console.log(`  memory  ${m}`);
  return { appendRatio, readRatio, cpuRatio: appendCpuRatio };
}

async function main(): Promise<void> {
  console.log(`raftline storage bench: ${(totalBytes / MiB).toFixed(0)} MiB per batch size, ${rounds} interleaved rounds (throughput: each side's best; ratio: the median round's raw/log), in ${baseDir}; targets append >= 0.8x raw, read >= 0.8x raw`);
  console.log(`CRC32C: ${crc32cImplementation === 'portable' ? 'portable TypeScript (slicing-by-16)' : `native (${crc32cImplementation})`}; the broker checks every batch's CRC on append`);
  // The log reserves disk blocks ahead of its active segment's data (preallocate.bytes); the raw side writes a plain
  // file, as an application appending with fs would.
  console.log(
    fallocateAvailable
      ? `preallocation: the log keeps ${(defaultLogConfig.preallocateBytes / MiB).toFixed(0)} MiB of blocks reserved past a busy segment's end (fallocate KEEP_SIZE); raw appends to a plain file`
      : 'preallocation: not available here (no fallocate through koffi); both sides write plain files',
  );
  // The same malloc thresholds as the broker process sets (malloc.trim.threshold.bytes); both sides run under them.
  // BENCH_MALLOC_TRIM=0 leaves glibc's adaptive thresholds, to see what they cost.
  const malloc = tuneMalloc(Number(process.env.BENCH_MALLOC_TRIM ?? mallocTrimThresholdBytesDefault));
  console.log(
    malloc.applied
      ? `malloc: trim threshold ${(malloc.trimThresholdBytes / MiB).toFixed(0)} MiB, mmap threshold ${(malloc.mmapThresholdBytes / MiB).toFixed(0)} MiB, as the broker sets them (both sides)`
      : `malloc: glibc's adaptive thresholds (${malloc.reason})`,
  );
  const results: Array<{ appendRatio: number; readRatio: number; cpuRatio: number }> = [];
  try {
    // The append path needs thousands of calls before V8 optimizes all of it, more than a round of large batches
    // makes: one untimed pass of each side with 2048 small batches (32 MiB) first, so more of those compiles happen
    // here (in the timed 16 KiB log appends of one run: 369 ms of compiles without it, 154-230 ms with it). The same
    // code serves every size.
    if (warmups > 0) {
      const small = makeBatches(16 * 1024);
      await rawRun(join(baseDir, 'raw'), small, 2048, MiB, 8);
      await logRun(join(baseDir, 'log'), small, 2048, MiB, [], 8);
    }
    for (const size of batchSizes) results.push(await benchOne(size));
  } finally {
    await fs.rm(baseDir, { recursive: true, force: true });
  }
  const worst = (k: 'appendRatio' | 'readRatio' | 'cpuRatio'): number => Math.min(...results.map((r) => r[k]));
  console.log(`\nworst ratios: append ${worst('appendRatio').toFixed(2)}, read ${worst('readRatio').toFixed(2)} (target 0.80); append CPU ${worst('cpuRatio').toFixed(2)}`);
}

await main();
