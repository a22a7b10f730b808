// The durable RaftLog: the KRaft metadata log kept in a storage-engine PartitionLog (one record batch per entry, the
// Raft epoch as the batch's partition leader epoch) plus KIP-630 snapshot files beside it, with every entry past the
// snapshot also held in memory so reads are synchronous. Invariants: memory and disk describe the same log once the
// queue of disk operations drains; nothing is acknowledged before it is fsynced; offsets are contiguous from the
// snapshot's end and epochs never decrease. A failed disk operation takes the log offline: every later mutation
// rejects, and the host must stop the node and reopen (memory may then be ahead of the disk, so it is never trusted).
//
// Bounds: at most `raftLogEntriesInMemoryMax` entries and `raftLogBytesInMemoryMax` payload bytes past the snapshot;
// an append past either rejects (and fails the Raft actor), so the state machine above must compact with
// `createSnapshot` long before. The metadata log is small in practice; these bounds are the "never grow forever" stop.
import type { Clock } from '../runtime/clock.js';
import type { Disk } from '../runtime/disk.js';
import { joinPath } from '../runtime/disk.js';
import type { Logger } from '../runtime/logger.js';
import { silentLogger } from '../runtime/logger.js';
import { openLog, type PartitionLog } from '../storage/partition-log.js';
import { batchesIn, decodeRecords, encodeBatch, type BatchHeader } from '../storage/record-batch.js';
import { crc32c } from '../storage/crc32c.js';
import { logReadBytesMax, raftRecordBytesMax, raftLogBytesInMemoryMax, raftLogEntriesInMemoryMax, raftLogSegmentBytesDefault, raftSnapshotBytesMax } from '../limits.js';
import { RaftlineError } from '../wire/errors.js';
import { RaftEntry as RaftEntrySchema, type EpochEndOffset, type RaftEntry, type RaftRecord, type SnapshotId } from '../wire/raft.js';
import type { RaftLog } from './ports.js';
import { invariant } from './quorum.js';

/** The metadata partition's directory under a node's data directory (Kafka's `__cluster_metadata-0`). */
export function metadataLogDir(dataDir: string): string {
  return joinPath(dataDir, '__cluster_metadata-0');
}

export interface OpenRaftStorageLogOptions {
  disk: Disk;
  /** The log's directory, e.g. `metadataLogDir(dataDir)`; created when missing. */
  dir: string;
  clock: Clock;
  logger?: Logger;
  /** Segment size of the underlying partition log (default `raftLogSegmentBytesDefault`). */
  segmentBytes?: number;
  /** Memory bounds past the snapshot (defaults from src/limits.ts; tests lower them). */
  entriesInMemoryMax?: number;
  bytesInMemoryMax?: number;
}

/** Thrown when what is on disk cannot be a log this module wrote (as opposed to a torn tail, which recovery cuts). */
export class RaftLogCorruptError extends Error {
  constructor(readonly dir: string, detail: string) {
    super(`raft log in ${dir} is corrupt: ${detail}`);
    this.name = 'RaftLogCorruptError';
  }
}

// Snapshot files: `<endOffset, 20 digits>-<epoch, 10 digits>.checkpoint` (Kafka's naming), holding a 4-byte magic,
// the CRC32C of the payload, then the payload. They are written with writeFileAtomic, so a crash leaves the old or
// the new file whole; the CRC catches a damaged one, which stops the node rather than replaying from nothing.
const snapshotPattern = /^(\d{20})-(\d{10})\.checkpoint$/;
const snapshotMagic = Uint8Array.from([0x52, 0x4c, 0x53, 0x31]); // "RLS1"
const snapshotHeaderBytes = 8;
/** Key of the one record of a LeaderChange control batch (the payload is JSON: leaderId and voters). */
const leaderChangeKey = new TextEncoder().encode('leader-change');
/** What an entry costs in memory beyond its payload (object, record, bookkeeping): a rough, safe figure. */
const entryOverheadBytes = 96;

function snapshotFileName(id: SnapshotId): string {
  return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}.checkpoint`;
}

function sameSnapshot(a: SnapshotId | null, b: SnapshotId): boolean {
  return a !== null && a.endOffset === b.endOffset && a.epoch === b.epoch;
}

function payloadBytes(record: RaftRecord): number {
  return record.type === 'data' ? record.data.byteLength : 8 * (record.voters.length + 1);
}

/** One entry → one record batch whose base offset is the entry's offset and whose leader epoch is its epoch. */
export function encodeEntry(entry: RaftEntry, timestamp: number): Uint8Array {
  const common = { timestamp, baseOffset: entry.offset, partitionLeaderEpoch: entry.epoch };
  if (entry.record.type === 'data') return encodeBatch({ ...common, records: [{ value: entry.record.data }] });
  const value = new TextEncoder().encode(JSON.stringify({ leaderId: entry.record.leaderId, voters: entry.record.voters }));
  return encodeBatch({ ...common, isControl: true, records: [{ key: leaderChangeKey, value }] });
}

/** The entry the batch at `position` of `bytes` (with `header`) holds; throws via `fail` when it is not one. */
function decodeEntry(bytes: Uint8Array, position: number, header: BatchHeader, fail: (detail: string) => never): RaftEntry {
  if (header.recordCount !== 1 || header.lastOffsetDelta !== 0) fail(`batch at offset ${header.baseOffset} holds ${header.recordCount} records, not one entry`);
  const [record] = decodeRecords(bytes, position, { verifyCrc: true });
  if (record === undefined) fail(`batch at offset ${header.baseOffset} has no record`);
  const offset = header.baseOffset;
  const epoch = header.partitionLeaderEpoch;
  if (!Number.isSafeInteger(epoch) || epoch < 0) fail(`batch at ${offset} has leader epoch ${epoch}`);
  if (header.isControl) {
    const key = record.key === null ? '' : new TextDecoder().decode(record.key);
    if (key !== 'leader-change' || record.value === null) fail(`unknown control record ${JSON.stringify(key)} at ${offset}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(record.value));
    } catch {
      fail(`leader-change record at ${offset} is not JSON`);
    }
    const entry = RaftEntrySchema.safeParse({ offset, epoch, record: { type: 'leader-change', ...(parsed as object) } });
    if (!entry.success) fail(`leader-change entry at ${offset} does not validate: ${entry.error.message}`);
    return entry.data;
  }
  // Data records are checked by hand rather than by zod: recovery decodes every entry, and this is its hot loop.
  if (record.value === null) fail(`data record at ${offset} has no value`);
  if (record.value.byteLength > raftRecordBytesMax) fail(`data record at ${offset} is ${record.value.byteLength} bytes, over raftRecordBytesMax`);
  // A copy: the decoded value is a view into a read buffer that may be megabytes long.
  return { offset, epoch, record: { type: 'data', data: new Uint8Array(record.value) } };
}

/** Opens (creating or recovering) the durable Raft log in `options.dir`. */
export async function openRaftStorageLog(options: OpenRaftStorageLogOptions): Promise<StorageRaftLog> {
  const logger = (options.logger ?? silentLogger).child({ raftLog: options.dir });
  const fail = (detail: string): never => {
    throw new RaftLogCorruptError(options.dir, detail);
  };
  // Fsync policy: the partition log never flushes on its own; this module flushes before every acknowledgement.
  // Retention is off: only snapshots shorten the metadata log.
  const partition = await openLog({
    disk: options.disk,
    dir: options.dir,
    clock: options.clock,
    log: logger,
    config: {
      segmentBytes: options.segmentBytes ?? raftLogSegmentBytesDefault,
      retentionMs: Number.POSITIVE_INFINITY,
      retentionBytes: Number.POSITIVE_INFINITY,
      cleanupPolicy: 'delete',
      flushIntervalMessages: Number.POSITIVE_INFINITY,
      flushIntervalMs: Number.POSITIVE_INFINITY,
    },
  });
  try {
    // The newest snapshot file is the truth about the log's start; older ones are leftovers of a crash mid-cleanup.
    const snapshots = (await options.disk.list(options.dir))
      .map((name) => ({ name, match: snapshotPattern.exec(name) }))
      .filter((s): s is { name: string; match: RegExpExecArray } => s.match !== null)
      .map((s) => ({ name: s.name, id: { endOffset: Number(s.match[1]), epoch: Number(s.match[2]) } }))
      .sort((a, b) => a.id.endOffset - b.id.endOffset);
    const newest = snapshots.at(-1);
    let snapshot: SnapshotId | null = null;
    if (newest !== undefined) {
      const bytes = await options.disk.readFile(joinPath(options.dir, newest.name));
      if (bytes.byteLength < snapshotHeaderBytes || !snapshotMagic.every((b, i) => bytes[i] === b)) fail(`snapshot ${newest.name} has no header`);
      const crc = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(4);
      if (crc32c(bytes.subarray(snapshotHeaderBytes)) !== crc) fail(`snapshot ${newest.name} fails its CRC`);
      snapshot = newest.id;
      for (const old of snapshots.slice(0, -1)) await options.disk.remove(joinPath(options.dir, old.name));
      // A crash after the snapshot was written but before the log caught up: finish what createSnapshot or
      // installSnapshot began (both write the snapshot first, so the log start never passes a snapshot).
      if (partition.logEndOffset < snapshot.endOffset) await partition.truncateFullyAndStartAt(snapshot.endOffset);
      else if (partition.logStartOffset < snapshot.endOffset) await partition.deleteRecordsBefore(snapshot.endOffset);
    }
    const start = snapshot?.endOffset ?? 0;
    if (partition.logStartOffset !== start) fail(`the log starts at ${partition.logStartOffset} but the snapshot ends at ${start}`);
    const entries: RaftEntry[] = [];
    let next = start;
    while (next < partition.logEndOffset) {
      const chunk = await partition.read({ fromOffset: next, maxBytes: logReadBytesMax, minOneBatch: true });
      if (chunk.nextOffset <= next) fail(`read at ${next} made no progress`);
      for (const { header, position } of batchesIn(chunk.bytes)) {
        const entry = decodeEntry(chunk.bytes, position, header, fail);
        if (entry.offset !== next) fail(`entry at ${entry.offset} where ${next} was expected`);
        const lastEpoch = entries.at(-1)?.epoch ?? snapshot?.epoch ?? 0;
        if (entry.epoch < lastEpoch) fail(`epoch ${entry.epoch} at ${entry.offset} after epoch ${lastEpoch}`);
        invariant(header.baseOffset === entry.offset, 'batch and entry offsets agree');
        entries.push(entry);
        next++;
      }
      invariant(next === chunk.nextOffset, () => `read ended at ${chunk.nextOffset} but entries reached ${next}`);
    }
    logger.info({ startOffset: start, endOffset: next, snapshot }, 'raft log opened');
    return new StorageRaftLog(options, partition, logger, snapshot, entries);
  } catch (error) {
    await partition.close().catch(() => undefined);
    throw error;
  }
}

export class StorageRaftLog implements RaftLog {
  private entries: RaftEntry[] = [];
  /** Where each epoch's entries start among those in memory, oldest first (for endOffsetForEpoch). */
  private epochRuns: Array<{ epoch: number; startOffset: number }> = [];
  private bytesHeld = 0;
  private readonly entriesMax: number;
  private readonly bytesMax: number;
  private readonly disk: Disk;
  private readonly clock: Clock;
  readonly dir: string;
  /** Disk operations run one at a time, in the order they were asked for. */
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;

  /** @internal use openRaftStorageLog */
  constructor(
    options: OpenRaftStorageLogOptions,
    private readonly partition: PartitionLog,
    private readonly logger: Logger,
    private snapshot: SnapshotId | null,
    entries: RaftEntry[],
  ) {
    this.disk = options.disk;
    this.clock = options.clock;
    this.dir = options.dir;
    this.entriesMax = options.entriesInMemoryMax ?? raftLogEntriesInMemoryMax;
    this.bytesMax = options.bytesInMemoryMax ?? raftLogBytesInMemoryMax;
    for (const entry of entries) this.hold(entry);
    if (this.entries.length > this.entriesMax || this.bytesHeld > this.bytesMax) {
      throw new RaftLogCorruptError(this.dir, `${this.entries.length} entries (${this.bytesHeld} bytes) past the snapshot exceed the memory bound`);
    }
  }

  // ---- reads (memory only) ----

  startOffset(): number {
    return this.snapshot?.endOffset ?? 0;
  }

  endOffset(): number {
    return this.startOffset() + this.entries.length;
  }

  lastEpoch(): number {
    return this.entries.at(-1)?.epoch ?? this.snapshot?.epoch ?? 0;
  }

  entryAt(offset: number): RaftEntry | undefined {
    if (offset < this.startOffset()) return undefined;
    return this.entries[offset - this.startOffset()];
  }

  read(fromOffset: number, maxEntries: number): RaftEntry[] {
    invariant(fromOffset >= this.startOffset() && fromOffset <= this.endOffset(), () => `read at ${fromOffset} outside [${this.startOffset()}, ${this.endOffset()}]`);
    const from = fromOffset - this.startOffset();
    return this.entries.slice(from, from + maxEntries);
  }

  endOffsetForEpoch(epoch: number): EpochEndOffset {
    for (let i = this.epochRuns.length - 1; i >= 0; i--) {
      const run = this.epochRuns[i]!;
      if (run.epoch <= epoch) return { epoch: run.epoch, endOffset: this.epochRuns[i + 1]?.startOffset ?? this.endOffset() };
    }
    return { epoch: Math.min(this.snapshot?.epoch ?? 0, epoch), endOffset: this.startOffset() };
  }

  latestSnapshot(): SnapshotId | null {
    return this.snapshot === null ? null : { ...this.snapshot };
  }

  /** Every entry held past the snapshot (checkers read whole logs). */
  all(): readonly RaftEntry[] {
    return this.entries;
  }

  /** True once a disk operation failed: the node must stop and the log be reopened. */
  get isOffline(): boolean {
    return this.failure !== undefined;
  }

  // ---- mutations: memory at once, disk in order, resolved once fsynced ----

  append(entries: readonly RaftEntry[]): Promise<void> {
    let bytes = 0;
    for (const [i, entry] of entries.entries()) {
      invariant(entry.offset === this.endOffset() + i, () => `append at ${entry.offset} but the log ends at ${this.endOffset() + i}`);
      invariant(entry.epoch >= (entries[i - 1]?.epoch ?? this.lastEpoch()), () => `append of epoch ${entry.epoch} after epoch ${entries[i - 1]?.epoch ?? this.lastEpoch()}`);
      bytes += payloadBytes(entry.record) + entryOverheadBytes;
    }
    if (this.entries.length + entries.length > this.entriesMax || this.bytesHeld + bytes > this.bytesMax) {
      return Promise.reject(
        new RaftlineError('KAFKA_STORAGE_ERROR', `raft log ${this.dir} would hold more than ${this.entriesMax} entries or ${this.bytesMax} bytes past its snapshot; snapshot first`),
      );
    }
    const now = this.clock.now();
    const encoded = Buffer.concat(entries.map((entry) => encodeEntry(entry, now)));
    for (const entry of entries) this.hold(entry);
    return this.mutate('append', async () => {
      if (entries.length === 0) return;
      const result = await this.partition.appendAsFollower(encoded);
      invariant(result.logEndOffset === entries.at(-1)!.offset + 1, () => `partition log ends at ${result.logEndOffset} after appending up to ${entries.at(-1)!.offset}`);
      // The metadata log always fsyncs before it acknowledges (Kafka's KRaft does the same).
      await this.partition.flush();
      invariant(this.partition.flushedOffset >= result.logEndOffset, 'flushed past the append');
    });
  }

  truncateTo(offset: number): Promise<void> {
    invariant(offset >= this.startOffset(), () => `truncate to ${offset} below the log start ${this.startOffset()}`);
    if (offset < this.endOffset()) {
      const keep = offset - this.startOffset();
      for (const dropped of this.entries.slice(keep)) this.bytesHeld -= payloadBytes(dropped.record) + entryOverheadBytes;
      this.entries.length = keep;
      while (this.epochRuns.length > 0 && this.epochRuns.at(-1)!.startOffset >= offset) this.epochRuns.pop();
    }
    return this.mutate('truncate', async () => {
      if (offset >= this.partition.logEndOffset) return;
      // One entry per batch, so the partition log cuts exactly at `offset`; its truncation is durable when it returns.
      const end = await this.partition.truncateTo(offset);
      invariant(end === offset, () => `truncation to ${offset} left the partition log ending at ${end}`);
    });
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Promise<{ size: number; bytes: Uint8Array }> {
    invariant(Number.isSafeInteger(position) && position >= 0 && maxBytes > 0, 'snapshot read within bounds');
    // Queued behind pending writes, so a snapshot just created or installed is readable.
    return this.queue(async () => {
      if (!sameSnapshot(this.snapshot, id)) throw new RaftlineError('SNAPSHOT_NOT_FOUND', `no snapshot ${id.endOffset}@${id.epoch} in ${this.dir}`);
      const file = await this.disk.open(joinPath(this.dir, snapshotFileName(id)), { readOnly: true });
      try {
        const size = file.size() - snapshotHeaderBytes;
        const from = Math.min(position, size);
        const read = await file.read(snapshotHeaderBytes + from, Math.min(maxBytes, size - from));
        // A plain Uint8Array view whatever the disk hands back (the real one gives Buffers), as the memory log does.
        return { size, bytes: new Uint8Array(read.buffer, read.byteOffset, read.byteLength) };
      } finally {
        await file.close();
      }
    }, false);
  }

  createSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset > this.startOffset() && id.endOffset <= this.endOffset(), () => `snapshot end ${id.endOffset} outside the log`);
    invariant(this.entryAt(id.endOffset - 1)?.epoch === id.epoch, () => `snapshot epoch ${id.epoch} does not match the entry before ${id.endOffset}`);
    invariant(bytes.byteLength <= raftSnapshotBytesMax, 'snapshot within raftSnapshotBytesMax');
    const drop = id.endOffset - this.startOffset();
    for (const dropped of this.entries.slice(0, drop)) this.bytesHeld -= payloadBytes(dropped.record) + entryOverheadBytes;
    this.entries = this.entries.slice(drop);
    this.rebuildEpochRuns();
    const previous = this.snapshot;
    this.snapshot = { ...id };
    const copy = bytes.slice();
    return this.mutate('create snapshot', async () => {
      await this.writeSnapshotFile(id, copy);
      await this.partition.deleteRecordsBefore(id.endOffset);
      await this.removeSnapshotFile(previous);
    });
  }

  installSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset >= this.startOffset(), 'installing a snapshot older than the log start');
    invariant(bytes.byteLength <= raftSnapshotBytesMax, 'snapshot within raftSnapshotBytesMax');
    this.entries = [];
    this.epochRuns = [];
    this.bytesHeld = 0;
    const previous = this.snapshot;
    this.snapshot = { ...id };
    const copy = bytes.slice();
    return this.mutate('install snapshot', async () => {
      await this.writeSnapshotFile(id, copy);
      await this.partition.truncateFullyAndStartAt(id.endOffset);
      if (!sameSnapshot(previous, id)) await this.removeSnapshotFile(previous);
    });
  }

  /** Waits for pending writes, then closes the files. Later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.partition.close();
  }

  // ---- internals ----

  private hold(entry: RaftEntry): void {
    const last = this.epochRuns.at(-1);
    if (last === undefined || entry.epoch > last.epoch) this.epochRuns.push({ epoch: entry.epoch, startOffset: entry.offset });
    this.entries.push(entry);
    this.bytesHeld += payloadBytes(entry.record) + entryOverheadBytes;
  }

  private rebuildEpochRuns(): void {
    this.epochRuns = [];
    for (const entry of this.entries) {
      const last = this.epochRuns.at(-1);
      if (last === undefined || entry.epoch > last.epoch) this.epochRuns.push({ epoch: entry.epoch, startOffset: entry.offset });
    }
  }

  private mutate(what: string, op: () => Promise<void>): Promise<void> {
    return this.queue(op, true, what);
  }

  private queue<T>(op: () => Promise<T>, poisons: boolean, what = 'read'): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed && poisons) throw new RaftlineError('KAFKA_STORAGE_ERROR', `raft log ${this.dir} is closed`);
      if (this.failure !== undefined) throw new RaftlineError('KAFKA_STORAGE_ERROR', `raft log ${this.dir} is offline after a failed write`, { cause: this.failure });
      return op();
    });
    this.tail = run.then(
      () => undefined,
      (error: unknown) => {
        if (!poisons || this.failure !== undefined) return;
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.logger.error({ err: this.failure.message, op: what }, 'raft log write failed; the log is offline until reopened');
      },
    );
    return run;
  }

  private async writeSnapshotFile(id: SnapshotId, payload: Uint8Array): Promise<void> {
    const file = new Uint8Array(snapshotHeaderBytes + payload.byteLength);
    file.set(snapshotMagic, 0);
    new DataView(file.buffer).setUint32(4, crc32c(payload));
    file.set(payload, snapshotHeaderBytes);
    await this.disk.writeFileAtomic(joinPath(this.dir, snapshotFileName(id)), file);
  }

  private async removeSnapshotFile(id: SnapshotId | null): Promise<void> {
    if (id === null) return;
    const path = joinPath(this.dir, snapshotFileName(id));
    if (!(await this.disk.exists(path))) return;
    await this.disk.remove(path);
    await this.disk.syncDir(this.dir);
  }
}
