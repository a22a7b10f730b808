// Shared fixtures for storage specs: a manual clock, a SimDisk-backed log opener, and batch helpers.
import type { Clock, TimerHandle } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { openLog, type PartitionLog } from '../../src/storage/partition-log.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { batchesIn, decodeRecords, encodeBatch } from '../../src/storage/record-batch.js';

/** A clock that moves only when told; timers fire in (deadline, order set) order on `advance`. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  monotonicMs(): number {
    return this.t;
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x !== handle);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

export function newDisk(seed: number | string = 1, capacityBytes?: number): SimDisk {
  return new SimDisk({ random: createSeededRandom(seed), ...(capacityBytes === undefined ? {} : { capacityBytes }) });
}

export async function open(disk: SimDisk, clock: Clock, config: Partial<LogConfig> = {}, dir = 'data/t-0'): Promise<PartitionLog> {
  return openLog({ disk, dir, config, clock, log: silentLogger });
}

/** A batch of `n` records whose values are `${tag}-${i}` and keys `k${i % keys}` when keys is given. */
export function batch(tag: string, n = 1, options: { timestamp?: number; keys?: number; valueBytes?: number } = {}): Buffer {
  return encodeBatch({
    timestamp: options.timestamp ?? 1_000,
    records: Array.from({ length: n }, (_, i) => ({
      key: options.keys ? Buffer.from(`k${i % options.keys}`) : null,
      value: options.valueBytes ? Buffer.alloc(options.valueBytes, i) : Buffer.from(`${tag}-${i}`),
    })),
  });
}

/** Every record's (offset, value) in a read result, checking each batch's CRC on the way (as a consumer does). */
export function values(bytes: Uint8Array): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const { position } of batchesIn(bytes)) {
    for (const r of decodeRecords(bytes, position)) out.push([r.offset, r.value ? r.value.toString('utf8') : '<null>']);
  }
  return out;
}

/** Reads the whole log from its start, in small reads. */
export async function readAll(log: PartitionLog, maxBytes = 300): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read({ fromOffset: offset, maxBytes });
    if (r.batches === 0) break;
    // Like a consumer: a batch may start before the fetch offset; records below it are skipped.
    out.push(...values(r.bytes).filter(([o]) => o >= offset));
    offset = r.nextOffset;
  }
  return out;
}
