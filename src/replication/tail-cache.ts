// The leader's tail cache: the batches of its latest appends, byte for byte as the log wrote them (offsets and leader
// epoch stamped), so a follower or consumer fetching at the tail of the log is answered from memory instead of a file
// read through the thread pool — on the acks=all path every append is fetched at once by every follower.
// Keeps: the entries are contiguous in offsets and the newest ends at the log end offset given with it; the bytes
// held are bounded per partition and per broker (src/limits.ts), counting for a view the share of the frame it pins;
// a read it cannot answer exactly as the log would returns undefined, and the caller reads the log.
import { replicaTailCacheBrokerBytesMax, replicaTailCacheBytesMax, replicaTailCachePinFactorMax, logReadBytesMax } from '../limits.js';
import { batchesIn } from '../storage/record-batch.js';
import { invariant } from './isr.js';

/** Bytes held by every tail cache of one broker, against one bound. */
export interface TailCacheBudget {
  usedBytes: number;
  readonly maxBytes: number;
}

export function createTailCacheBudget(maxBytes: number = replicaTailCacheBrokerBytesMax): TailCacheBudget {
  invariant(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `tail cache budget ${maxBytes} must be a non-negative integer`);
  return { usedBytes: 0, maxBytes };
}

interface Entry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Uint8Array;
  /** What the entry counts against the bounds: its bytes, plus its share of the rest of the frame it keeps alive. */
  readonly chargedBytes: number;
}

const empty = new Uint8Array(0);

export class TailCache {
  private entries: Entry[] = [];
  private heldBytes = 0;

  constructor(
    private readonly budget: TailCacheBudget,
    private readonly maxBytes: number = replicaTailCacheBytesMax,
  ) {
    invariant(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `tail cache bound ${maxBytes} must be a non-negative integer`);
  }

  /** Bytes held now (a view's share of the frame it pins included). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Offsets [first, last] held, or undefined when empty. */
  get range(): { first: number; last: number } | undefined {
    const first = this.entries[0];
    const last = this.entries[this.entries.length - 1];
    return first === undefined || last === undefined ? undefined : { first: first.baseOffset, last: last.lastOffset };
  }

  /**
   * The log just wrote `records` (whole batches, offsets assigned) and its end offset is now `logEndOffset`. Batches
   * that do not continue the cached ones replace them.
   */
  add(records: Uint8Array, logEndOffset: number): void {
    // A view keeps its whole frame alive. One that is a fair share of its frame (a partition of a produce request that
    // carries a few) is held as it is and charged its share of the frame; a small share of a large frame is copied
    // instead (cheap for small bytes), so the bounds hold for the memory really kept, not just for the batches' bytes.
    const held = records.byteLength * replicaTailCachePinFactorMax < records.buffer.byteLength ? Uint8Array.prototype.slice.call(records) : records;
    const pinnedPerByte = held.byteLength === 0 ? 1 : held.buffer.byteLength / held.byteLength;
    invariant(pinnedPerByte >= 1 && pinnedPerByte <= replicaTailCachePinFactorMax, () => `a tail cache view pins ${pinnedPerByte} times its bytes`);
    for (const { header, position } of batchesIn(held)) {
      const last = this.entries[this.entries.length - 1];
      if (last !== undefined && last.lastOffset + 1 !== header.baseOffset) this.clear();
      const chargedBytes = Math.ceil(header.sizeBytes * pinnedPerByte);
      this.entries.push({ baseOffset: header.baseOffset, lastOffset: header.lastOffset, bytes: held.subarray(position, position + header.sizeBytes), chargedBytes });
      this.heldBytes += chargedBytes;
      this.budget.usedBytes += chargedBytes;
    }
    const newest = this.entries[this.entries.length - 1];
    // Anything but the log's own tail would serve wrong bytes: start afresh rather than keep a doubtful cache.
    if (newest !== undefined && newest.lastOffset + 1 !== logEndOffset) this.clear();
    let drop = 0;
    let dropped = 0;
    while (drop < this.entries.length && (this.heldBytes - dropped > this.maxBytes || this.budget.usedBytes - dropped > this.budget.maxBytes)) {
      dropped += this.entries[drop]!.chargedBytes;
      drop++;
    }
    if (drop > 0) {
      this.entries.splice(0, drop);
      this.heldBytes -= dropped;
      this.budget.usedBytes -= dropped;
    }
    invariant(this.heldBytes >= 0 && this.budget.usedBytes >= 0, 'tail cache byte counts went negative');
  }

  /**
   * Whole batches from the one holding `fromOffset`, as PartitionLog.read would give them: only batches entirely below
   * `maxOffset`, at most `maxBytes` (at least the first batch with `minOneBatch`). Undefined when the cache does not
   * hold `fromOffset`, or the log has moved on without it (the caller reads the log, which also raises the errors).
   */
  read(fromOffset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean, log: { logStartOffset: number; logEndOffset: number }): Uint8Array | undefined {
    const first = this.entries[0];
    const newest = this.entries[this.entries.length - 1];
    if (first === undefined || newest === undefined) return undefined;
    if (newest.lastOffset + 1 !== log.logEndOffset) {
      this.clear();
      return undefined;
    }
    if (!Number.isSafeInteger(fromOffset) || fromOffset < first.baseOffset || fromOffset < log.logStartOffset || fromOffset > log.logEndOffset) return undefined;
    const limit = Math.min(maxOffset, log.logEndOffset);
    if (fromOffset >= limit) return empty;
    // The newest entries are the ones asked for: search from the end.
    let i = this.entries.length - 1;
    while (i > 0 && this.entries[i - 1]!.lastOffset >= fromOffset) i--;
    const start = this.entries[i]!;
    invariant(start.baseOffset <= fromOffset || i === 0, 'tail cache entries are contiguous');
    const byteBound = Math.max(0, Math.min(maxBytes, logReadBytesMax));
    const want = minOneBatch ? Math.max(byteBound, start.bytes.byteLength) : byteBound;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let j = i; j < this.entries.length; j++) {
      const e = this.entries[j]!;
      if (e.lastOffset >= limit || total + e.bytes.byteLength > want) break;
      parts.push(e.bytes);
      total += e.bytes.byteLength;
    }
    if (parts.length === 0) return empty;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  }

  /** Forgets everything (leadership ended or began, or the log moved without us). */
  clear(): void {
    this.budget.usedBytes -= this.heldBytes;
    this.heldBytes = 0;
    this.entries = [];
    invariant(this.budget.usedBytes >= 0, 'tail cache budget went negative');
  }
}
