// The partition log: an ordered list of segments in one directory, with the log start offset, the leader-epoch
// cache and the recovery point persisted beside them. Invariants, asserted as we go:
//   logStartOffset <= logEndOffset; segments are sorted, non-overlapping, and only the last one (the active
//   segment) is written; every offset below the recovery point is on stable storage; a batch is written whole or
//   not at all as far as any reader can tell; nothing that fails its length or CRC check on recovery is kept.
// Every public operation runs under one lock, so appends, reads, truncations and retention never interleave; the
// compactor does its heavy work outside the lock and swaps the result in under it.
import type { Clock } from '../runtime/clock.js';
import { every } from '../runtime/clock.js';
import type { Disk } from '../runtime/disk.js';
import { dirName, joinPath } from '../runtime/disk.js';
import type { Logger } from '../runtime/logger.js';
import { RaftlineError } from '../wire/errors.js';
import { batchBytesMax, compactionKeysMax, logReadBytesMax, segmentIndexesResidentMax, segmentOffsetSpanMax } from '../limits.js';
import { resolveLogConfig, type LogConfig } from './log-config.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { Segment, type BatchInfo } from './segment.js';
import {
  assignOffsetAndEpoch,
  batchCrcMatches,
  batchBounds,
  batchHeaderBytes,
  batchesIn,
  decodeRecords,
  readBatchHeader,
  scanBatches,
  verifyBatchCrcs,
  type BatchBounds,
  type BatchHeader,
} from './record-batch.js';
import { compactSegment } from './compactor.js';

export interface OpenLogOptions {
  disk: Disk;
  /** The partition's directory, e.g. `data/node-1/orders-0`. Created when missing. */
  dir: string;
  config?: Partial<LogConfig>;
  clock: Clock;
  log: Logger;
}

export interface AppendResult {
  /** Offset of the first record written. */
  baseOffset: number;
  /** Offset of the last record written. */
  lastOffset: number;
  batches: number;
  records: number;
  bytes: number;
  /** The log end offset after the append. */
  logEndOffset: number;
}

export interface ReadOptions {
  fromOffset: number;
  /** Bytes to return at most (whole batches only), unless the first batch alone is bigger and `minOneBatch` holds. */
  maxBytes: number;
  /** Exclusive upper bound (the high watermark for consumers); defaults to the log end offset. */
  maxOffset?: number;
  /** Return the first batch even when it is bigger than maxBytes, so a reader always makes progress (KIP-74). */
  minOneBatch?: boolean;
}

export interface ReadResult {
  /** Whole record batches, byte for byte as written. */
  bytes: Uint8Array;
  batches: number;
  /** Where the next read should start (fromOffset when nothing was returned). */
  nextOffset: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface OffsetForTimestamp {
  offset: number;
  timestamp: number;
}

export interface MaintenanceReport {
  flushed: boolean;
  segmentsDeleted: number;
  segmentsCompacted: number;
}

const recoveryPointFile = 'recovery-point-checkpoint';
const logStartOffsetFile = 'log-start-offset-checkpoint';
const leaderEpochFile = 'leader-epoch-checkpoint';
const segmentLogPattern = /^(\d{20})\.log$/;
const segmentIndexPattern = /^(\d{20})\.(index|timeindex)$/;

function invariant(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(`partition log invariant: ${message}`);
}

function offsetCheckpoint(offset: number): Uint8Array {
  return Buffer.from(`0\n${offset}\n`, 'utf8');
}

async function readOffsetCheckpoint(disk: Disk, path: string): Promise<number | undefined> {
  if (!(await disk.exists(path))) return undefined;
  const lines = Buffer.from(await disk.readFile(path)).toString('utf8').trim().split('\n');
  const v = Number(lines[1]);
  return lines[0] === '0' && lines.length === 2 && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** Opens (and recovers) the log in `dir`, creating it when missing. */
export async function openLog(options: OpenLogOptions): Promise<PartitionLog> {
  const log = new PartitionLog(options);
  await log.recover();
  return log;
}

export class PartitionLog {
  readonly dir: string;
  /** The settings in force: replaced whole by `reconfigure` (a topic config changed), never edited in place. */
  private settings: LogConfig;
  private readonly disk: Disk;
  private readonly clock: Clock;
  private readonly log: Logger;
  private segments: Segment[] = [];
  private startOffset = 0;
  private recoveryPoint = 0;
  private recoveryPointSaved = -1;
  private recoveryPointSavedMs = 0;
  private epochs = new LeaderEpochCache();
  private unflushedRecords = 0;
  private firstUnflushedMs: number | undefined;
  /** Set when a sync failed: the page cache may hold data the disk refused, so no further write is trusted. */
  private failure: Error | undefined;
  private closed = false;
  private lockTail: Promise<void> = Promise.resolve();
  /** Closed segments whose indexes are in memory, least recently used first (bounded by segmentIndexesResidentMax). */
  private residentIndexes: Segment[] = [];
  /** Segments closed since the compactor last ran: maintenance compacts only when there is something new to clean. */
  private rollsSinceCompaction = 1;
  private stopMaintenance: (() => void) | undefined;

  /** @internal use openLog */
  constructor(options: OpenLogOptions) {
    this.dir = options.dir;
    this.settings = resolveLogConfig(options.config);
    this.disk = options.disk;
    this.clock = options.clock;
    this.log = options.log.child({ partitionLog: options.dir });
  }

  // ---- state ----

  get logStartOffset(): number {
    return this.startOffset;
  }
  get logEndOffset(): number {
    return this.active().nextOffset;
  }
  /** Offsets below this are on stable storage (after the last flush). */
  get flushedOffset(): number {
    return this.recoveryPoint;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Bytes of all segments. */
  get sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }
  /** Memory held by the sparse indexes (should stay small as the log grows). */
  get indexMemoryBytes(): number {
    return this.segments.reduce((n, s) => n + s.indexBytes(), 0);
  }
  /** The latest leader epoch recorded, or -1. */
  get latestEpoch(): number {
    return this.epochs.latest()?.epoch ?? -1;
  }
  get epochEntries(): ReadonlyArray<{ epoch: number; startOffset: number }> {
    return this.epochs.all().map((e) => ({ ...e }));
  }
  get config(): LogConfig {
    return this.settings;
  }

  /**
   * New settings (a topic's config changed), validated whole before any takes effect: appends, rolls and maintenance
   * read them from now on; segments already rolled keep their size.
   */
  reconfigure(overrides: Partial<LogConfig>): void {
    this.settings = resolveLogConfig({ ...this.settings, ...overrides });
  }

  get isOffline(): boolean {
    return this.failure !== undefined;
  }

  private active(): Segment {
    const s = this.segments[this.segments.length - 1];
    invariant(s !== undefined, 'a log always has an active segment');
    return s;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const start = (): Promise<T> => {
      if (this.closed) throw new RaftlineError('KAFKA_STORAGE_ERROR', `log ${this.dir} is closed`);
      return fn();
    };
    const idle = this.exclusiveInFlight === 0;
    this.exclusiveInFlight++;
    let run: Promise<T>;
    if (idle) {
      // Nothing is ahead of this operation, so it starts now: an append issues its write in the caller's tick instead
      // of one promise hop later (the append hot path is a chain of such hops; each costs a few µs once the code has
      // gone cold while the thread waited for the disk).
      try {
        run = start();
      } catch (err) {
        run = Promise.reject(err);
      }
    } else {
      run = this.lockTail.then(start);
    }
    this.lockTail = run.then(this.releaseExclusive, this.releaseExclusive);
    return run;
  }

  private exclusiveInFlight = 0;
  private readonly releaseExclusive = (): void => {
    this.exclusiveInFlight--;
  };

  private checkWritable(): void {
    if (this.failure) {
      throw new RaftlineError('KAFKA_STORAGE_ERROR', `log ${this.dir} is offline after a failed sync`, { cause: this.failure });
    }
  }

  private path(name: string): string {
    return joinPath(this.dir, name);
  }

  // ---- append ----

  /**
   * Appends one or more producer batches as the leader: validates each (CRC, length, magic, max.message.bytes),
   * assigns offsets from the log end and stamps `leaderEpoch` into the headers — in place, so the log takes ownership
   * of `bytes` — and writes them. On any refusal the log is unchanged. The CRCs are checked while the bytes are
   * being written (see writeBatches), after every other check.
   */
  appendAsLeader(bytes: Uint8Array, leaderEpoch: number): Promise<AppendResult> {
    // Not an async function: its checks throw inside exclusive (a rejection), and the common case returns
    // writeBatches' promise itself rather than one more async frame around it.
    return this.exclusive(() => {
      this.checkWritable();
      const found = scanBatches(bytes, this.config.maxMessageBytes);
      const latest = this.epochs.latest();
      if (latest && leaderEpoch < latest.epoch) {
        throw new RaftlineError('FENCED_LEADER_EPOCH', `append with epoch ${leaderEpoch} after epoch ${latest.epoch}`);
      }
      for (const { header } of found) {
        if (header.recordCount === 0 || header.lastOffsetDelta !== header.recordCount - 1) {
          throw new RaftlineError('CORRUPT_MESSAGE', `producer batch has ${header.recordCount} records but last offset delta ${header.lastOffsetDelta}`);
        }
      }
      const epochChanges = latest === undefined || leaderEpoch !== latest.epoch;
      // A new epoch is saved (fsynced) before its first batch is written: the CRCs must hold before that.
      if (epochChanges) verifyBatchCrcs(bytes, found);
      const infos: BatchInfo[] = [];
      let next = this.logEndOffset;
      for (const { header, position } of found) {
        // Outside the CRC's range, so it does not race with the CRC check of writeBatches.
        assignOffsetAndEpoch(bytes, position, next, leaderEpoch);
        infos.push({ baseOffset: next, lastOffset: next + header.lastOffsetDelta, maxTimestamp: header.maxTimestamp, sizeBytes: header.sizeBytes, partitionLeaderEpoch: leaderEpoch });
        next += header.lastOffsetDelta + 1;
      }
      if (epochChanges) {
        invariant(this.epochs.assign(leaderEpoch, this.logEndOffset), `epoch ${leaderEpoch} is new to the cache`);
        return this.saveEpochs().then(() => this.writeBatches(bytes, infos, found, false));
      }
      return this.writeBatches(bytes, infos, found, true);
    });
  }

  /**
   * Appends batches fetched from the leader, keeping their offsets and epochs. The first batch must start at or
   * after the log end offset (a follower truncates first when its log diverged). Validated like a leader's append.
   */
  appendAsFollower(bytes: Uint8Array): Promise<AppendResult> {
    return this.exclusive(async () => {
      this.checkWritable();
      const found = scanBatches(bytes, batchBytesMax);
      let expected = this.logEndOffset;
      for (const { header } of found) {
        if (header.baseOffset < expected) {
          throw new RaftlineError('INVALID_REQUEST', `follower batch at offset ${header.baseOffset} is below the next expected offset ${expected}`);
        }
        expected = header.lastOffset + 1;
      }
      const infos: BatchInfo[] = found.map(({ header }) => ({
        baseOffset: header.baseOffset,
        lastOffset: header.lastOffset,
        maxTimestamp: header.maxTimestamp,
        sizeBytes: header.sizeBytes,
        partitionLeaderEpoch: header.partitionLeaderEpoch,
      }));
      const latestEpoch = this.epochs.latest()?.epoch ?? -1;
      if (found.some(({ header }) => header.partitionLeaderEpoch >= 0 && header.partitionLeaderEpoch > latestEpoch)) {
        // New epochs are saved (fsynced) before their batches are written: the CRCs must hold before that.
        verifyBatchCrcs(bytes, found);
        let changed = false;
        for (const { header } of found) {
          const latest = this.epochs.latest();
          if (header.partitionLeaderEpoch >= 0 && (!latest || header.partitionLeaderEpoch > latest.epoch)) {
            changed = this.epochs.assign(header.partitionLeaderEpoch, header.baseOffset) || changed;
          }
        }
        invariant(changed, 'a follower batch with a newer epoch changes the epoch cache');
        await this.saveEpochs();
        return this.writeBatches(bytes, infos, found, false);
      }
      return this.writeBatches(bytes, infos, found, true);
    });
  }

  /** Whether writing `infos` would roll the active segment before the last of them. */
  private rollsWithin(infos: readonly BatchInfo[]): boolean {
    const seg = this.active();
    let pending = 0;
    for (const info of infos) {
      if (this.shouldRoll(seg, pending, info)) return true;
      pending += info.sizeBytes;
    }
    return false;
  }

  private shouldRoll(seg: Segment, pendingBytes: number, info: BatchInfo): boolean {
    const size = seg.size + pendingBytes;
    if (size === 0) return info.lastOffset - seg.baseOffset > segmentOffsetSpanMax || info.baseOffset < seg.baseOffset;
    return (
      size + info.sizeBytes > this.config.segmentBytes ||
      this.clock.now() - seg.createdMs >= this.config.segmentMs ||
      info.lastOffset - seg.baseOffset > segmentOffsetSpanMax
    );
  }

  /**
   * Writes validated batches, rolling segments as needed. `crcOwed` says the batches' CRCs are still to be checked:
   * when the batches all go to the active segment, the check runs while their bytes are being written
   * (Segment.append), so it costs no time of its own; when a roll is needed, it runs first, because a roll fsyncs the
   * old segment and a refused batch must never become durable.
   */
  private async writeBatches(
    bytes: Uint8Array,
    infos: BatchInfo[],
    found: ReadonlyArray<{ header: BatchHeader; position: number }>,
    crcOwed: boolean,
  ): Promise<AppendResult> {
    try {
      if (crcOwed && !this.rollsWithin(infos)) {
        // The common case: one write to the active segment, its CRC check running while the bytes are copied.
        await this.active().append(bytes, infos, found);
      } else {
        if (crcOwed) verifyBatchCrcs(bytes, found);
        await this.writeGroups(bytes, infos);
      }
    } catch (err) {
      // Whatever reached the file past the valid size was cut back by the segment; forget epochs that never landed.
      if (this.epochs.truncateFromEnd(this.logEndOffset)) await this.saveEpochs().catch(() => undefined);
      throw err;
    }
    let records = 0;
    for (const f of found) records += f.header.recordCount;
    invariant(this.logEndOffset === infos[infos.length - 1]!.lastOffset + 1, 'log end offset follows the last batch');
    this.active().reserveAhead(this.config.preallocateBytes, this.config.segmentBytes);
    this.unflushedRecords += records;
    this.firstUnflushedMs ??= this.clock.now();
    if (
      this.unflushedRecords >= this.config.flushIntervalMessages ||
      this.clock.now() - this.firstUnflushedMs >= this.config.flushIntervalMs
    ) {
      await this.flushLocked();
    }
    return {
      baseOffset: infos[0]!.baseOffset,
      lastOffset: infos[infos.length - 1]!.lastOffset,
      batches: infos.length,
      records,
      bytes: bytes.length,
      logEndOffset: this.logEndOffset,
    };
  }

  /** Writes `infos` (validated, CRCs checked) in runs that each fit the active segment, rolling between runs. */
  private async writeGroups(bytes: Uint8Array, infos: readonly BatchInfo[]): Promise<void> {
    let groupStart = 0;
    let group: BatchInfo[] = [];
    let groupBytes = 0;
    const writeGroup = async (): Promise<void> => {
      if (group.length === 0) return;
      await this.active().append(bytes.subarray(groupStart, groupStart + groupBytes), group);
      groupStart += groupBytes;
      group = [];
      groupBytes = 0;
    };
    for (const info of infos) {
      if (this.shouldRoll(this.active(), groupBytes, info)) {
        await writeGroup();
        await this.roll(info.baseOffset);
      }
      group.push(info);
      groupBytes += info.sizeBytes;
    }
    await writeGroup();
  }

  /** Closes the active segment (synced, indexes saved) and starts a new one at `baseOffset`. */
  private async roll(baseOffset: number): Promise<void> {
    const old = this.active();
    invariant(baseOffset >= old.nextOffset, `roll to ${baseOffset} below the log end ${old.nextOffset}`);
    if (old.isEmpty) {
      // An empty active segment is replaced rather than kept: segments are never empty except the last.
      await old.removeFiles();
      this.segments.pop();
    } else {
      // Like Kafka, a rolled segment is flushed, so recovery after a crash only ever scans the active segment.
      await old.releaseReserved();
      await this.syncGuarded(() => old.file.datasync());
      await old.saveIndexes();
    }
    if (!old.isEmpty) await this.useIndexes(old);
    const seg = await Segment.create(this.disk, this.dir, baseOffset, this.clock.now(), this.config.indexIntervalBytes);
    this.segments.push(seg);
    this.rollsSinceCompaction += 1;
    await this.syncGuarded(() => this.disk.syncDir(this.dir));
    if (!old.isEmpty && this.recoveryPoint >= old.baseOffset) {
      this.recoveryPoint = Math.max(this.recoveryPoint, old.nextOffset);
      await this.saveRecoveryPoint();
    }
  }

  // ---- read ----

  /** Reads whole batches from `fromOffset`, byte for byte as stored, bounded by `maxBytes` and `maxOffset`. */
  read(options: ReadOptions): Promise<ReadResult> {
    return this.exclusive(() => this.readLocked(options));
  }

  private async readLocked(options: ReadOptions): Promise<ReadResult> {
    const { fromOffset } = options;
    const leo = this.logEndOffset;
    const empty = (): ReadResult => ({ bytes: new Uint8Array(0), batches: 0, nextOffset: fromOffset, logStartOffset: this.startOffset, logEndOffset: leo });
    if (!Number.isSafeInteger(fromOffset) || fromOffset < this.startOffset || fromOffset > leo) {
      throw new RaftlineError('OFFSET_OUT_OF_RANGE', `offset ${fromOffset} is outside [${this.startOffset}, ${leo}]`);
    }
    const limit = Math.min(options.maxOffset ?? leo, leo);
    const maxBytes = Math.max(0, Math.min(options.maxBytes, logReadBytesMax));
    if (fromOffset >= limit) return empty();
    for (let i = this.segmentIndexFor(fromOffset); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      await this.useIndexes(seg);
      // One read from a batch boundary at or before the target (the read hint or the sparse index), scanned in
      // memory; a second read only when the batches to skip or the first batch do not fit in the first.
      const start = seg.scanStartFor(fromOffset);
      const slack = this.config.indexIntervalBytes + batchHeaderBytes;
      // Read up to the last known batch boundary within maxBytes; when the first batch alone is bigger, up to its end.
      const within = seg.boundaryWithin(start, start + maxBytes);
      let chunk = await seg.read(start, (within > 0 ? within : seg.nextBoundaryAfter(start)) - start);
      let view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let base = start;
      let p = 0;
      for (;;) {
        if (chunk.length - p < batchHeaderBytes) {
          if (base + p >= seg.size) break;
          chunk = await seg.read(base + p, maxBytes + slack);
          view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          base += p;
          p = 0;
          if (chunk.length < batchHeaderBytes) throw new RaftlineError('KAFKA_STORAGE_ERROR', `segment ${seg.baseOffset} ends inside a batch header`);
          continue;
        }
        const b = this.guardParse(() => batchBounds(view, p));
        if (b.lastOffset >= fromOffset) break;
        p += b.sizeBytes;
      }
      if (base + p >= seg.size) continue;
      const first = this.guardParse(() => batchBounds(view, p));
      if (first.lastOffset >= limit) return empty();
      const want = options.minOneBatch === false ? maxBytes : Math.max(maxBytes, first.sizeBytes);
      // The chunk already ends at a batch boundary near maxBytes; read again only when the first batch is cut off.
      if (chunk.length - p < first.sizeBytes) {
        chunk = await seg.read(base + p, want);
      } else {
        chunk = chunk.subarray(p, p + Math.min(want, chunk.length - p));
      }
      view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const position = base + p;
      let end = 0;
      let last = -1;
      let count = 0;
      // Walk whole batches; a damaged one ends the read, and is an error only when nothing before it can be served.
      p = 0;
      while (chunk.length - p >= batchHeaderBytes) {
        let h: BatchBounds;
        try {
          h = batchBounds(view, p);
        } catch (err) {
          this.log.error({ position: position + p, segment: seg.baseOffset, err: String(err) }, 'damaged batch header on read; not served');
          if (count === 0) throw new RaftlineError('KAFKA_STORAGE_ERROR', `stored batch is damaged: ${String(err)}`, { cause: err });
          break;
        }
        if (p + h.sizeBytes > chunk.length || h.lastOffset >= limit) break;
        if (this.config.verifyCrcOnRead && !batchCrcMatches(chunk, p, readBatchHeader(chunk, p))) {
          this.log.error({ offset: h.baseOffset, segment: seg.baseOffset }, 'corrupt batch on read; not served');
          if (count === 0) throw new RaftlineError('KAFKA_STORAGE_ERROR', `batch at offset ${h.baseOffset} failed its CRC check`);
          break;
        }
        p += h.sizeBytes;
        end = p;
        last = h.lastOffset;
        count += 1;
      }
      if (count === 0) return empty();
      seg.noteReadEnd(last + 1, position + end);
      return { bytes: chunk.subarray(0, end), batches: count, nextOffset: last + 1, logStartOffset: this.startOffset, logEndOffset: leo };
    }
    return empty();
  }

  private async guardRead<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof RaftlineError && err.code === 'CORRUPT_MESSAGE') {
        throw new RaftlineError('KAFKA_STORAGE_ERROR', `stored batch is damaged: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private guardParse<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof RaftlineError && err.code === 'CORRUPT_MESSAGE') {
        throw new RaftlineError('KAFKA_STORAGE_ERROR', `stored batch is damaged: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Makes `seg`'s indexes resident and marks them recently used. Closed segments beyond the resident bound give
   * theirs back (they are re-read from the index files when needed), so index memory does not grow with the log.
   */
  private async useIndexes(seg: Segment): Promise<void> {
    await seg.ensureIndexes();
    if (seg === this.active()) return;
    this.residentIndexes = this.residentIndexes.filter((s) => s !== seg && this.segments.includes(s) && s !== this.active());
    this.residentIndexes.push(seg);
    while (this.residentIndexes.length > segmentIndexesResidentMax) {
      const victim = this.residentIndexes.shift()!;
      if (!victim.releaseIndexes()) {
        await victim.saveIndexes();
        victim.releaseIndexes();
      }
    }
  }

  /** Index of the last segment whose base offset is <= offset (0 when offset is below every base). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  // ---- offsets ----

  /** OffsetsForLeaderEpoch: the end offset of the largest epoch <= `epoch` ({-1,-1} when older than the log). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /** ListOffsets by time: the first record with timestamp >= `timestamp`, or undefined when there is none. */
  offsetForTimestamp(timestamp: number): Promise<OffsetForTimestamp | undefined> {
    return this.exclusive(async () => {
      for (const seg of this.segments) {
        if (seg.maxTimestamp < timestamp) continue;
        await this.useIndexes(seg);
        let { position } = await this.guardRead(() => seg.positionOfTimestamp(timestamp));
        while (position < seg.size) {
          const head = await seg.read(position, batchHeaderBytes);
          const header = this.guardParse(() => readBatchHeader(head));
          if (header.maxTimestamp >= timestamp && header.lastOffset >= this.startOffset) {
            const batch = await seg.read(position, header.sizeBytes);
            for (const r of this.guardParse(() => decodeRecords(batch))) {
              if (r.timestamp >= timestamp && r.offset >= this.startOffset) return { offset: r.offset, timestamp: r.timestamp };
            }
          }
          position += header.sizeBytes;
        }
      }
      return undefined;
    });
  }

  // ---- truncation, deletion, retention ----

  /**
   * Removes every batch that holds an offset >= `offset` (a follower whose log diverged). The cut is at a batch
   * boundary, so the new log end offset is <= `offset`. Durable before it resolves.
   */
  truncateTo(offset: number): Promise<number> {
    return this.exclusive(async () => {
      try {
        return await this.truncateToLocked(offset);
      } finally {
        // Whatever happened, the epochs in memory never describe offsets the log no longer has.
        this.epochs.truncateFromEnd(this.logEndOffset);
      }
    });
  }

  private async truncateToLocked(offset: number): Promise<number> {
    this.checkWritable();
    if (offset >= this.logEndOffset) return this.logEndOffset;
    if (offset < this.startOffset) {
      await this.truncateFullyAndStartAtLocked(offset);
      return this.logEndOffset;
    }
    // Newest first, each removal durable before the next: a crash can then only leave a suffix removed, never a hole.
    while (this.segments.length > 1 && this.active().baseOffset >= offset) {
      await this.active().removeFiles();
      this.segments.pop();
      await this.syncGuarded(() => this.disk.syncDir(this.dir));
    }
    const seg = this.active();
    await seg.ensureIndexes();
    this.residentIndexes = this.residentIndexes.filter((s) => s !== seg);
    const { position, header } = await this.guardRead(() => seg.positionOf(offset));
    const newEnd = header ? header.baseOffset : seg.nextOffset;
    if (newEnd < this.startOffset) {
      // The batch holding `offset` straddles the log start: cutting it would leave the end below the start.
      await this.truncateFullyAndStartAtLocked(offset);
      return this.logEndOffset;
    }
    await seg.removeIndexes();
    await seg.truncateToPosition(position, newEnd);
    // Memory follows the file at once, so a failure below leaves them agreeing; the disk catches up after.
    const epochsChanged = this.epochs.truncateFromEnd(this.logEndOffset);
    const recoveryPointChanged = this.recoveryPoint > this.logEndOffset;
    if (recoveryPointChanged) this.recoveryPoint = this.logEndOffset;
    await this.syncGuarded(() => seg.file.datasync());
    if (epochsChanged) await this.saveEpochs();
    if (recoveryPointChanged) await this.saveRecoveryPoint();
    this.log.info({ offset, logEndOffset: this.logEndOffset }, 'truncated log');
    invariant(this.logEndOffset <= offset && this.logEndOffset >= this.startOffset, 'truncation lands within the log');
    return this.logEndOffset;
  }

  /** Empties the log and restarts it at `offset` (a follower far behind a leader whose log starts later). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.exclusive(() => this.truncateFullyAndStartAtLocked(offset));
  }

  private async truncateFullyAndStartAtLocked(offset: number): Promise<void> {
    this.checkWritable();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad start offset ${offset}`);
    try {
      await this.restartAt(offset);
    } catch (err) {
      // Half-removed segments under a moved start offset cannot be served safely: offline until reopened.
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private async restartAt(offset: number): Promise<void> {
    // The new start is durable first: should a removal below fail, recovery still drops the segments under it.
    await this.disk.writeFileAtomic(this.path(logStartOffsetFile), offsetCheckpoint(offset));
    this.startOffset = offset;
    // The segment that will hold the log exists before the old ones go, so the log is never without one. A segment
    // already based at `offset` is reused (cut to empty) rather than created over.
    const reuse = this.segments.find((seg) => seg.baseOffset === offset);
    const target = reuse ?? (await Segment.create(this.disk, this.dir, offset, this.clock.now(), this.config.indexIntervalBytes));
    for (const seg of this.segments.filter((x) => x !== target).reverse()) {
      // Hand over to the target before the last old segment goes, so the list is never empty.
      if (this.segments.length === 1) this.segments = [target];
      await seg.removeFiles();
      this.segments = this.segments.filter((x) => x !== seg);
      await this.syncGuarded(() => this.disk.syncDir(this.dir));
    }
    if (reuse) {
      await reuse.ensureIndexes();
      await reuse.removeIndexes();
      await reuse.truncateToPosition(0, offset);
      await this.syncGuarded(() => reuse.file.datasync());
    }
    this.segments = [target];
    this.residentIndexes = [];
    await this.syncGuarded(() => this.disk.syncDir(this.dir));
    this.epochs = new LeaderEpochCache();
    await this.saveEpochs();
    this.recoveryPoint = offset;
    await this.saveRecoveryPoint();
  }

  /** DeleteRecords: moves the log start offset up to `offset` and deletes segments wholly below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.exclusive(async () => {
      this.checkWritable();
      if (!Number.isSafeInteger(offset) || offset > this.logEndOffset || offset < 0) {
        throw new RaftlineError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${offset}: log ends at ${this.logEndOffset}`);
      }
      if (offset <= this.startOffset) return this.startOffset;
      await this.advanceStartOffset(offset);
      if (this.active().nextOffset <= offset && !this.active().isEmpty) await this.roll(this.logEndOffset);
      await this.deleteSegmentsWhile((seg) => seg.nextOffset <= this.startOffset);
      return this.startOffset;
    });
  }

  private async advanceStartOffset(offset: number): Promise<void> {
    invariant(offset >= this.startOffset && offset <= this.logEndOffset, `log start ${offset} within [${this.startOffset}, ${this.logEndOffset}]`);
    // The checkpoint is durable before any file is removed, so a crash never resurrects deleted records as readable.
    await this.disk.writeFileAtomic(this.path(logStartOffsetFile), offsetCheckpoint(offset));
    this.startOffset = offset;
    // Epoch entries describe records the log holds: none start at or past the end (e.g. after deleting everything).
    const changed = this.epochs.truncateFromStart(offset);
    if (this.epochs.truncateFromEnd(this.logEndOffset) || changed) await this.saveEpochs();
  }

  /** Deletes leading non-active segments while `predicate` holds. */
  private async deleteSegmentsWhile(predicate: (seg: Segment) => boolean): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1 && predicate(this.segments[0]!)) {
      await this.segments[0]!.removeFiles();
      this.segments.shift();
      deleted += 1;
    }
    if (deleted > 0) await this.syncGuarded(() => this.disk.syncDir(this.dir));
    return deleted;
  }

  /** Applies retention.ms and retention.bytes (cleanup.policy delete): removes whole old segments, never the active one. */
  enforceRetention(): Promise<number> {
    return this.exclusive(() => this.enforceRetentionLocked());
  }

  private async enforceRetentionLocked(): Promise<number> {
    if (!this.config.cleanupPolicy.includes('delete')) return 0;
    const now = this.clock.now();
    let excess = this.sizeBytes - this.config.retentionBytes;
    let count = 0;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i]!;
      const expired = Number.isFinite(this.config.retentionMs) && seg.maxTimestamp < now - this.config.retentionMs;
      const oversize = excess - seg.size >= 0;
      if (!expired && !oversize) break;
      excess -= seg.size;
      count += 1;
    }
    if (count === 0) return 0;
    const newStart = Math.max(this.startOffset, this.segments[count]!.baseOffset);
    if (newStart > this.startOffset) await this.advanceStartOffset(newStart);
    let left = count;
    const deleted = await this.deleteSegmentsWhile(() => left-- > 0);
    this.log.info({ deleted, logStartOffset: this.startOffset }, 'retention deleted segments');
    return deleted;
  }

  // ---- durability ----

  /** Makes everything appended so far durable (fsync of unflushed segments and of the directory). */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushLocked());
  }

  private async flushLocked(): Promise<void> {
    this.checkWritable();
    const leo = this.logEndOffset;
    for (let i = this.segmentIndexFor(this.recoveryPoint); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      await this.syncGuarded(() => seg.file.datasync());
    }
    this.recoveryPoint = Math.max(this.recoveryPoint, leo);
    this.unflushedRecords = 0;
    this.firstUnflushedMs = undefined;
  }

  /** A failed fsync leaves the page cache in an unknown state (the "fsyncgate" lesson): the log goes offline. */
  private async syncGuarded(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.log.error({ err: this.failure.message }, 'sync failed; log is offline until it is reopened');
      throw err;
    }
  }

  private async saveRecoveryPoint(): Promise<void> {
    await this.disk.writeFileAtomic(this.path(recoveryPointFile), offsetCheckpoint(this.recoveryPoint));
    this.recoveryPointSaved = this.recoveryPoint;
    this.recoveryPointSavedMs = this.clock.now();
  }

  private async saveEpochs(): Promise<void> {
    await this.disk.writeFileAtomic(this.path(leaderEpochFile), this.epochs.serialize());
  }

  /**
   * Periodic work: flush by log.flush.interval.ms, retention, compaction (cleanup.policy compact) and the recovery
   * point checkpoint. The host calls it on a timer (`startMaintenance`) or directly.
   */
  async maintenance(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { flushed: false, segmentsDeleted: 0, segmentsCompacted: 0 };
    await this.exclusive(async () => {
      const now = this.clock.now();
      if (this.firstUnflushedMs !== undefined && now - this.firstUnflushedMs >= this.config.flushIntervalMs) {
        await this.flushLocked();
        report.flushed = true;
      }
      report.segmentsDeleted = await this.enforceRetentionLocked();
      if (this.recoveryPoint !== this.recoveryPointSaved && now - this.recoveryPointSavedMs >= this.config.recoveryCheckpointIntervalMs) {
        await this.saveRecoveryPoint();
      }
    });
    if (this.config.cleanupPolicy.includes('compact') && this.rollsSinceCompaction > 0) report.segmentsCompacted = await this.compact();
    return report;
  }

  /** Runs `maintenance` every `periodMs` on the log's clock until the returned function is called or the log closes. */
  startMaintenance(periodMs: number): () => void {
    this.stopMaintenance?.();
    let running = false;
    const stop = every(this.clock, periodMs, () => {
      if (running || this.closed) return;
      running = true;
      this.maintenance()
        .catch((err: unknown) => this.log.warn({ err: String(err) }, 'log maintenance failed'))
        .finally(() => {
          running = false;
        });
    });
    this.stopMaintenance = stop;
    return stop;
  }

  // ---- compaction ----

  /**
   * cleanup.policy=compact: keeps only the latest record of each key in the closed segments, and drops tombstones
   * older than delete.retention.ms. The segments are rewritten outside the lock (appends continue) and each cleaned
   * segment replaces its original atomically (rename) under the lock, unless the log changed under it meanwhile.
   */
  async compact(): Promise<number> {
    const snapshot = await this.exclusive(async () => {
      this.rollsSinceCompaction = 0;
      return this.segments.slice(0, -1).map((seg) => ({ seg, version: seg.version }));
    });
    if (snapshot.length === 0) return 0;
    // Pass 1: the latest offset of every key in the closed segments.
    const latest = new Map<string, number>();
    for (const { seg } of snapshot) {
      for await (const batch of this.batchesOf(seg)) {
        for (const r of decodeRecords(batch)) if (r.key) latest.set(r.key.toString('latin1'), r.offset);
      }
      if (latest.size > compactionKeysMax) {
        this.log.warn({ keys: latest.size }, 'compaction skipped: more distinct keys than one pass may hold');
        return 0;
      }
    }
    const tombstoneHorizon = this.clock.now() - this.config.deleteRetentionMs;
    let compacted = 0;
    for (const { seg, version } of snapshot) {
      const cleanedPath = `${seg.logPath}.cleaned`;
      const result = await compactSegment({
        disk: this.disk,
        batches: this.batchesOf(seg),
        cleanedPath,
        keep: (key, offset, isTombstone, timestamp) => {
          if (key === null) return true;
          const newest = latest.get(key.toString('latin1'));
          if (newest !== undefined && newest > offset) return false;
          return !(isTombstone && timestamp < tombstoneHorizon);
        },
      });
      if (!result.changed) continue;
      const swapped = await this.exclusive(async () => {
        if (!this.segments.includes(seg) || seg.version !== version || seg === this.active()) return false;
        await seg.removeIndexes();
        await this.disk.rename(cleanedPath, seg.logPath);
        await this.syncGuarded(() => this.disk.syncDir(this.dir));
        await seg.file.close();
        seg.file = await this.disk.open(seg.logPath);
        const r = await seg.recover(false, () => true);
        invariant(r.validBytes === r.fileBytes, 'a cleaned segment is whole');
        await seg.saveIndexes();
        await this.useIndexes(seg);
        return true;
      });
      if (swapped) compacted += 1;
      else if (await this.disk.exists(cleanedPath)) await this.disk.remove(cleanedPath);
    }
    if (compacted > 0) this.log.info({ compacted }, 'compacted segments');
    return compacted;
  }

  /** Whole batches of a closed segment, read in chunks without the lock (closed segments change only under it). */
  private async *batchesOf(seg: Segment): AsyncGenerator<Uint8Array> {
    let position = 0;
    const size = seg.size;
    while (position < size) {
      const chunk = await seg.file.read(position, Math.min(size - position, 4 * 1024 * 1024));
      let used = 0;
      for (const { header, position: p } of batchesIn(chunk)) {
        yield chunk.subarray(p, p + header.sizeBytes);
        used = p + header.sizeBytes;
      }
      if (used === 0) throw new RaftlineError('KAFKA_STORAGE_ERROR', `segment ${seg.baseOffset}: batch at ${position} is damaged`);
      position += used;
    }
  }

  // ---- open and close ----

  /** @internal Opens the directory: checkpoints, segments, indexes, and recovery of anything past the recovery point. */
  async recover(): Promise<void> {
    const disk = this.disk;
    await disk.mkdir(this.dir);
    // The directory's own entry (and its parents', for a fresh log.dirs) must be durable, or a crash can undo it all.
    for (let d = this.dir; ; ) {
      const parent = dirName(d);
      await disk.syncDir(parent);
      if (parent === '.' || parent === '/' || parent === d) break;
      d = parent;
    }
    const names = await disk.list(this.dir);
    for (const name of names) {
      if (name.endsWith('.cleaned') || name.endsWith('.deleted')) await disk.remove(this.path(name));
    }
    const bases = names
      .map((n) => segmentLogPattern.exec(n)?.[1])
      .filter((b): b is string => b !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const name of names) {
      const m = segmentIndexPattern.exec(name);
      if (m && !bases.includes(Number(m[1]))) await disk.remove(this.path(name));
    }
    this.startOffset = (await readOffsetCheckpoint(disk, this.path(logStartOffsetFile))) ?? 0;
    const savedRecoveryPoint = (await readOffsetCheckpoint(disk, this.path(recoveryPointFile))) ?? 0;
    this.epochs = (await disk.exists(this.path(leaderEpochFile)))
      ? LeaderEpochCache.parse(await disk.readFile(this.path(leaderEpochFile)))
      : new LeaderEpochCache();
    const now = this.clock.now();
    const scannedEpochs: Array<{ epoch: number; startOffset: number }> = [];
    const checkpointed = this.epochs;
    const firstEpochStart = checkpointed.all()[0]?.startOffset ?? 0;
    const compacted = this.config.cleanupPolicy.includes('compact');
    // The base offset and leader epoch sit outside the CRC (the leader rewrites them), so recovery checks them
    // against what must hold: offsets are contiguous unless compaction may have left gaps, and each batch carries the
    // epoch the checkpoint (always saved before a new epoch's first write) says starts at or before it.
    const accept = (h: BatchHeader, expectedOffset: number): boolean => {
      if (h.baseOffset < expectedOffset || (!compacted && h.baseOffset !== expectedOffset)) return false;
      const first = checkpointed.all()[0];
      if (first) {
        // Batches before the first recorded epoch's start lie below the log start offset: no newer than that epoch.
        const ok = h.baseOffset < firstEpochStart ? h.partitionLeaderEpoch <= first.epoch : h.partitionLeaderEpoch === checkpointed.epochAt(h.baseOffset);
        if (!ok) return false;
      }
      const last = scannedEpochs[scannedEpochs.length - 1];
      if (h.partitionLeaderEpoch >= 0 && (!last || h.partitionLeaderEpoch > last.epoch)) {
        scannedEpochs.push({ epoch: h.partitionLeaderEpoch, startOffset: h.baseOffset });
      }
      return true;
    };
    let truncatedAt: number | undefined;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const seg = await Segment.open(disk, this.dir, base, now, this.config.indexIntervalBytes);
      const prev = this.segments[this.segments.length - 1];
      const hole = prev !== undefined && (compacted ? base < prev.nextOffset : base !== prev.nextOffset);
      if (truncatedAt !== undefined || hole) {
        // Everything after a damaged batch, or not continuing what came before, is dropped.
        await seg.removeFiles();
        continue;
      }
      const next = bases[i + 1];
      const clean = next !== undefined && next <= savedRecoveryPoint && (await seg.loadIndexes());
      if (!clean) {
        const { validBytes, fileBytes } = await seg.recover(true, accept);
        if (validBytes < fileBytes) {
          this.log.warn({ segment: base, validBytes, fileBytes }, 'recovery: truncating a torn or corrupt tail');
          await seg.file.truncate(validBytes);
          await seg.file.datasync();
          await seg.removeIndexes();
          truncatedAt = seg.nextOffset;
        }
      }
      this.segments.push(seg);
    }
    // Drop segments wholly below the log start offset (a deletion a crash undid), and empty non-last segments.
    while (this.segments.length > 0 && this.segments[0]!.nextOffset <= this.startOffset && this.segments.length > 1) {
      await this.segments.shift()!.removeFiles();
    }
    this.segments = await this.dropEmptyInner(this.segments);
    if (this.segments.length === 0) {
      this.segments.push(await Segment.create(disk, this.dir, this.startOffset, now, this.config.indexIntervalBytes));
    }
    if (this.logEndOffset < this.startOffset) {
      // Records the log start offset promised are gone (they were never flushed): restart empty at that offset.
      for (const seg of this.segments) await seg.removeFiles();
      this.segments = [await Segment.create(disk, this.dir, this.startOffset, now, this.config.indexIntervalBytes)];
    }
    if (this.startOffset < this.segments[0]!.baseOffset) {
      this.startOffset = this.segments[0]!.baseOffset;
      await disk.writeFileAtomic(this.path(logStartOffsetFile), offsetCheckpoint(this.startOffset));
    }
    // Epochs: what the checkpoint says, cut to the recovered log, plus any newer epoch seen while scanning.
    const leo = this.logEndOffset;
    this.epochs.truncateFromEnd(leo);
    for (const e of scannedEpochs) {
      const latest = this.epochs.latest();
      if (e.startOffset < leo && (!latest || e.epoch > latest.epoch)) this.epochs.assign(e.epoch, Math.max(e.startOffset, latest?.startOffset ?? 0));
    }
    this.epochs.truncateFromStart(this.startOffset);
    this.epochs.truncateFromEnd(leo);
    await this.saveEpochs();
    // Closed segments keep their indexes in files only (saved now when recovery rebuilt them): memory stays flat.
    for (const seg of this.segments.slice(0, -1)) {
      if (!seg.releaseIndexes()) {
        await seg.saveIndexes();
        seg.releaseIndexes();
      }
    }
    // Whatever recovery kept is made durable, and the recovery point moves to the end.
    for (const seg of this.segments) await seg.file.datasync();
    await disk.syncDir(this.dir);
    this.recoveryPoint = leo;
    await this.saveRecoveryPoint();
    this.log.info({ logStartOffset: this.startOffset, logEndOffset: leo, segments: this.segments.length }, 'log opened');
  }

  private async dropEmptyInner(segments: Segment[]): Promise<Segment[]> {
    const kept: Segment[] = [];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      if (seg.isEmpty && i < segments.length - 1) await seg.removeFiles();
      else kept.push(seg);
    }
    return kept;
  }

  /** Flushes, saves the active segment's indexes and the recovery point, and closes every file. */
  close(): Promise<void> {
    const result = this.exclusive(async () => {
      this.stopMaintenance?.();
      if (!this.failure) {
        // Only space is at stake: a failure to give it back must not keep the log from flushing and closing.
        await this.active().releaseReserved().catch((err: unknown) => this.log.warn({ err: String(err) }, 'could not give back reserved segment space'));
        await this.flushLocked();
        await this.active().saveIndexes();
        await this.saveRecoveryPoint();
      }
      for (const seg of this.segments) await seg.file.close();
      this.closed = true;
    });
    return result;
  }
}
