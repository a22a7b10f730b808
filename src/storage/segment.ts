// One log segment: a `.log` file of whole record batches starting at `baseOffset`, with a sparse offset index and a
// sparse time index held in memory and saved beside it (`.index`, `.timeindex`) when the segment is closed.
// Invariants: `size` is the byte length of the whole, valid batches the segment holds (the file may be longer only
// after a failed write, and is cut back); batches are in strictly increasing offset order; index entries are
// increasing in both offset and position, and each points at the start of a batch.
import type { Disk, DiskFile } from '../runtime/disk.js';
import { joinPath } from '../runtime/disk.js';
import { crc32c } from './crc32c.js';
import { batchCrcMatches, batchHeaderBytes, readBatchHeader, verifyBatchCrcs, type BatchHeader } from './record-batch.js';

export function segmentFileName(baseOffset: number, suffix: '.log' | '.index' | '.timeindex'): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

/** A growable list of (key, position) pairs, kept sorted by the caller. Keys are relative offsets or timestamps. */
class SparseIndex {
  keys = new Float64Array(16);
  positions = new Uint32Array(16);
  length = 0;

  push(key: number, position: number): void {
    if (this.length > 0 && (key < this.keys[this.length - 1]! || position <= this.positions[this.length - 1]!)) {
      throw new Error(`index invariant: entry (${key}, ${position}) does not follow (${this.keys[this.length - 1]}, ${this.positions[this.length - 1]})`);
    }
    if (this.length === this.keys.length) {
      const k = new Float64Array(this.length * 2);
      k.set(this.keys);
      this.keys = k;
      const p = new Uint32Array(this.length * 2);
      p.set(this.positions);
      this.positions = p;
    }
    this.keys[this.length] = key;
    this.positions[this.length] = position;
    this.length += 1;
  }

  /** Position of the last entry whose key is <= `key` (or whose key is < `key` when `strict`), or 0. */
  floorPosition(key: number, strict = false): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid]!;
      if (strict ? k < key : k <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  /** Drops entries pointing at or past `position`. */
  truncateToPosition(position: number): void {
    while (this.length > 0 && this.positions[this.length - 1]! >= position) this.length -= 1;
  }

  bytes(): number {
    return this.length * 12;
  }
}

/** What a batch adds to a segment's bookkeeping. */
export interface BatchInfo {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  sizeBytes: number;
  partitionLeaderEpoch: number;
}

const indexMagic = 0x52_4c_49_31; // "RLI1"

export class Segment {
  /** Bytes of valid batches. */
  size = 0;
  /** Offset after the last batch (baseOffset when empty). */
  nextOffset: number;
  /** Largest record timestamp in the segment (-Infinity when empty). */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** Bumped on every truncation, so a background cleaner can tell its copy went stale. */
  version = 0;
  private readonly offsetIndex = new SparseIndex();
  private readonly timeIndex = new SparseIndex();
  private bytesSinceIndexEntry = 0;
  /** File position up to which disk blocks are reserved ahead of the data (reserveAhead); 0 when none are. */
  private reservedEnd = 0;
  /** False after `releaseIndexes`: the indexes live only in their files until `ensureIndexes`. */
  private indexesLoaded = true;
  /** True while the index files on disk describe exactly the in-memory indexes (so they may be released). */
  private indexesSaved = false;

  private constructor(
    private readonly disk: Disk,
    readonly dir: string,
    readonly baseOffset: number,
    public file: DiskFile,
    /** Clock reading when the segment was created or opened, for segment.ms. */
    readonly createdMs: number,
    private readonly indexIntervalBytes: number,
  ) {
    this.nextOffset = baseOffset;
  }

  get logPath(): string {
    return joinPath(this.dir, segmentFileName(this.baseOffset, '.log'));
  }
  get indexPath(): string {
    return joinPath(this.dir, segmentFileName(this.baseOffset, '.index'));
  }
  get timeIndexPath(): string {
    return joinPath(this.dir, segmentFileName(this.baseOffset, '.timeindex'));
  }
  get isEmpty(): boolean {
    return this.size === 0;
  }
  /** Memory held by the in-memory indexes. */
  indexBytes(): number {
    return this.offsetIndex.bytes() + this.timeIndex.bytes();
  }

  static async create(disk: Disk, dir: string, baseOffset: number, nowMs: number, indexIntervalBytes: number): Promise<Segment> {
    const file = await disk.open(joinPath(dir, segmentFileName(baseOffset, '.log')), { create: true });
    const seg = new Segment(disk, dir, baseOffset, file, nowMs, indexIntervalBytes);
    if (file.size() !== 0) {
      // A leftover file at this base (e.g. from before a crash) holds nothing we want: start empty.
      await file.truncate(0);
    }
    return seg;
  }

  static async open(disk: Disk, dir: string, baseOffset: number, nowMs: number, indexIntervalBytes: number): Promise<Segment> {
    const file = await disk.open(joinPath(dir, segmentFileName(baseOffset, '.log')));
    return new Segment(disk, dir, baseOffset, file, nowMs, indexIntervalBytes);
  }

  /** Records a batch written at `position` in the indexes (called after the bytes are in the file). */
  private track(info: BatchInfo, position: number): void {
    this.requireIndexes();
    this.indexesSaved = false;
    if (info.baseOffset < this.nextOffset) throw new Error(`segment invariant: batch ${info.baseOffset} is below next offset ${this.nextOffset}`);
    if (position !== this.size) throw new Error(`segment invariant: batch at ${position}, segment size ${this.size}`);
    if (this.size === 0 || this.bytesSinceIndexEntry >= this.indexIntervalBytes) {
      this.offsetIndex.push(info.baseOffset - this.baseOffset, position);
      this.bytesSinceIndexEntry = 0;
    }
    if (info.maxTimestamp > this.maxTimestamp) {
      // The time index is sparse too, but any new maximum that opens a new interval is recorded.
      if (this.timeIndex.length === 0 || this.bytesSinceIndexEntry === 0) this.timeIndex.push(info.maxTimestamp, position);
      this.maxTimestamp = info.maxTimestamp;
    }
    this.bytesSinceIndexEntry += info.sizeBytes;
    this.size += info.sizeBytes;
    this.nextOffset = info.lastOffset + 1;
  }

  /**
   * Writes whole batches (offsets assigned) at the end. On failure the file is cut back to the last valid size and
   * the error is rethrown; the in-memory state is unchanged.
   *
   * With `unverified` (the batches of `bytes` whose CRCs are still to be checked), the write is issued first and the
   * CRCs are checked while the bytes are on their way to the file, so the CRC computation and the copy into the page
   * cache overlap instead of adding up. The batches count as appended only after both succeeded: a refusal cuts the
   * bytes back off the file before it is rethrown, and until then they lie past `size`, where no read looks and where
   * recovery, which checks every CRC past the recovery point, would drop them. The caller passes `unverified` only
   * when nothing can make those bytes durable before this resolves (no roll, no flush in between; see
   * PartitionLog.writeBatches).
   */
  async append(
    bytes: Uint8Array,
    batches: readonly BatchInfo[],
    unverified?: ReadonlyArray<{ header: BatchHeader; position: number }>,
  ): Promise<void> {
    const position = this.size;
    const written = this.file.write(bytes, position);
    let refused = false;
    let refusal: unknown;
    if (unverified !== undefined) {
      try {
        verifyBatchCrcs(bytes, unverified);
      } catch (err) {
        refused = true;
        refusal = err;
      }
    }
    try {
      await written;
    } catch (err) {
      await this.file.truncate(position).catch(() => undefined);
      throw refused ? refusal : err;
    }
    if (refused) {
      // A failed cut-back surfaces as the disk error it is (the file's tail is then unknown until a reopen recovers).
      await this.file.truncate(position);
      throw refusal;
    }
    let at = position;
    for (const b of batches) {
      this.track(b, at);
      at += b.sizeBytes;
    }
    if (at !== position + bytes.length) throw new Error('segment invariant: batch sizes do not add up to the bytes written');
  }

  /** Where the last read ended: a sequential reader's next offset maps to its position without an index lookup. */
  private readHint = { offset: -1, position: 0 };

  /** Remembers that the batch starting at `position` holds offsets from `offset` on (called after a read). */
  noteReadEnd(offset: number, position: number): void {
    this.readHint = { offset, position };
  }

  /**
   * A batch boundary at or before the batch holding `offset`, from the read hint or the sparse index. The caller
   * scans forward from it (in memory) to the batch it wants.
   */
  scanStartFor(offset: number): number {
    this.requireIndexes();
    if (offset === this.readHint.offset && this.readHint.position <= this.size) return this.readHint.position;
    return this.offsetIndex.floorPosition(offset - this.baseOffset);
  }

  /**
   * The furthest known batch boundary in (`from`, `limit`]: an indexed batch start or the segment end. Reads end
   * there, so they fetch no bytes past the last whole batch they can return. 0 when no boundary is known in range.
   */
  boundaryWithin(from: number, limit: number): number {
    this.requireIndexes();
    if (this.size > from && this.size <= limit) return this.size;
    const positions = this.offsetIndex.positions;
    let lo = 0;
    let hi = this.offsetIndex.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! <= limit) {
        found = positions[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found > from ? found : 0;
  }

  /** The nearest known batch boundary after `from`: the next indexed batch start, or the segment end. */
  nextBoundaryAfter(from: number): number {
    this.requireIndexes();
    const positions = this.offsetIndex.positions;
    let lo = 0;
    let hi = this.offsetIndex.length - 1;
    let found = this.size;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! > from) {
        found = positions[mid]!;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found;
  }

  /** Position of the batch containing `offset` or the first batch after it; `size` when there is none. */
  async positionOf(offset: number): Promise<{ position: number; header: BatchHeader | undefined }> {
    this.requireIndexes();
    let position = this.offsetIndex.floorPosition(offset - this.baseOffset);
    while (position < this.size) {
      const head = await this.file.read(position, batchHeaderBytes);
      const header = readBatchHeader(head);
      if (header.lastOffset >= offset) return { position, header };
      position += header.sizeBytes;
    }
    return { position: this.size, header: undefined };
  }

  /** Position of the first batch whose max timestamp is >= `timestamp`; `size` when there is none. */
  async positionOfTimestamp(timestamp: number): Promise<{ position: number; header: BatchHeader | undefined }> {
    this.requireIndexes();
    let position = this.timeIndex.floorPosition(timestamp, true);
    while (position < this.size) {
      const header = readBatchHeader(await this.file.read(position, batchHeaderBytes));
      if (header.maxTimestamp >= timestamp) return { position, header };
      position += header.sizeBytes;
    }
    return { position: this.size, header: undefined };
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    return this.file.read(position, Math.min(length, this.size - position));
  }

  /**
   * Keeps `chunk` bytes of disk blocks reserved past the end of the data, up to `limit` (segment.bytes), once the
   * segment holds at least `chunk` bytes. Buffered writes into reserved blocks skip the file system's per-page block
   * allocation: 1 MiB appends cost 20-25% less on ext4 (docs/storage.md, "The 1 MiB append, second look"). A segment
   * that never grows to `chunk` reserves nothing, so idle partitions hold no extra space, and what lies reserved past
   * the end is given back when the segment stops being the active one (releaseReserved). The next reservation starts
   * when half a chunk is left, in the background, ahead of the writes that use it.
   */
  reserveAhead(chunk: number, limit: number): void {
    const end = this.size;
    if (chunk <= 0 || end < chunk || end + chunk / 2 <= this.reservedEnd) return;
    const from = Math.max(this.reservedEnd, end);
    const to = Math.min(end + chunk, limit);
    if (to > from && this.file.reserve(from, to - from)) this.reservedEnd = to;
  }

  /** Gives back the blocks reserved past the data (before a roll's flush and on close). */
  async releaseReserved(): Promise<void> {
    const reserved = this.reservedEnd > this.size;
    this.reservedEnd = 0;
    if (reserved) await this.file.truncate(this.size);
  }

  /** Cuts the segment to `position` (a batch boundary) and forgets index entries past it. */
  async truncateToPosition(position: number, nextOffset: number): Promise<void> {
    if (position > this.size) throw new Error(`segment invariant: truncate to ${position} past size ${this.size}`);
    this.requireIndexes();
    this.indexesSaved = false;
    // The cut frees the blocks reserved past it too.
    this.reservedEnd = 0;
    await this.file.truncate(position);
    this.offsetIndex.truncateToPosition(position);
    this.timeIndex.truncateToPosition(position);
    this.size = position;
    this.readHint = { offset: -1, position: 0 };
    this.nextOffset = position === 0 ? this.baseOffset : nextOffset;
    this.maxTimestamp = this.timeIndex.length === 0 ? Number.NEGATIVE_INFINITY : this.timeIndex.keys[this.timeIndex.length - 1]!;
    // The time index keeps only some maxima; recompute the exact maximum from the batches after the last entry.
    this.bytesSinceIndexEntry = Number.POSITIVE_INFINITY;
    this.version += 1;
    await this.rescanTail();
  }

  private async rescanTail(): Promise<void> {
    let position = this.timeIndex.length === 0 ? 0 : this.timeIndex.positions[this.timeIndex.length - 1]!;
    while (position < this.size) {
      const header = readBatchHeader(await this.file.read(position, batchHeaderBytes));
      if (header.maxTimestamp > this.maxTimestamp) this.maxTimestamp = header.maxTimestamp;
      position += header.sizeBytes;
    }
  }

  /**
   * Rebuilds the indexes by scanning the file, checking each batch's length, offsets and (with `verifyCrc`) CRC.
   * Stops at the first torn, corrupt or out-of-order batch, or the first one `accept` refuses (given the offset the
   * batch should start at), and returns the valid length; the caller truncates there.
   */
  async recover(verifyCrc: boolean, accept: (h: BatchHeader, expectedOffset: number) => boolean): Promise<{ validBytes: number; fileBytes: number }> {
    const fileBytes = this.file.size();
    this.readHint = { offset: -1, position: 0 };
    this.size = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = Number.NEGATIVE_INFINITY;
    this.bytesSinceIndexEntry = 0;
    this.offsetIndex.length = 0;
    this.timeIndex.length = 0;
    this.indexesLoaded = true;
    this.indexesSaved = false;
    const chunkBytes = 1024 * 1024;
    let position = 0;
    let chunk: Uint8Array = new Uint8Array(0);
    let chunkStart = 0;
    while (position < fileBytes) {
      if (fileBytes - position < batchHeaderBytes) break;
      if (position + batchHeaderBytes > chunkStart + chunk.length) {
        chunk = await this.file.read(position, Math.max(chunkBytes, batchHeaderBytes));
        chunkStart = position;
      }
      let header: BatchHeader;
      try {
        header = readBatchHeader(chunk, position - chunkStart);
      } catch {
        break;
      }
      if (position + header.sizeBytes > fileBytes) break;
      if (header.baseOffset < this.nextOffset || header.lastOffset - this.baseOffset > 2 ** 31 - 1) break;
      if (position + header.sizeBytes > chunkStart + chunk.length) {
        chunk = await this.file.read(position, Math.max(chunkBytes, header.sizeBytes));
        chunkStart = position;
      }
      if (verifyCrc && !batchCrcMatches(chunk, position - chunkStart, header)) break;
      if (!accept(header, this.nextOffset)) break;
      this.track(
        { baseOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, sizeBytes: header.sizeBytes, partitionLeaderEpoch: header.partitionLeaderEpoch },
        position,
      );
      position += header.sizeBytes;
    }
    return { validBytes: this.size, fileBytes };
  }

  /**
   * Saves both indexes, each stamped with the log size and next offset they describe and a CRC, so a later open
   * trusts them only when they match the `.log` file exactly.
   */
  async saveIndexes(): Promise<void> {
    this.requireIndexes();
    for (const [path, index] of [[this.indexPath, this.offsetIndex], [this.timeIndexPath, this.timeIndex]] as const) {
      const b = Buffer.alloc(40 + index.length * 12);
      b.writeUInt32BE(indexMagic, 0);
      b.writeDoubleBE(this.size, 8);
      b.writeDoubleBE(this.nextOffset, 16);
      b.writeDoubleBE(this.maxTimestamp, 24);
      b.writeUInt32BE(index.length, 32);
      for (let i = 0; i < index.length; i++) {
        b.writeDoubleBE(index.keys[i]!, 40 + i * 12);
        b.writeUInt32BE(index.positions[i]!, 48 + i * 12);
      }
      b.writeUInt32BE(crc32c(b, 0, 8), 4);
      await this.disk.writeFileAtomic(path, b);
    }
    this.indexesSaved = true;
  }

  /** Loads saved indexes when they describe exactly the current `.log` file; false means "recover by scanning". */
  async loadIndexes(): Promise<boolean> {
    const loaded: Array<{ index: SparseIndex; size: number; next: number; maxTs: number }> = [];
    for (const path of [this.indexPath, this.timeIndexPath]) {
      if (!(await this.disk.exists(path))) return false;
      const b = Buffer.from(await this.disk.readFile(path));
      if (b.length < 40 || b.readUInt32BE(0) !== indexMagic || b.readUInt32BE(4) !== crc32c(b, 0, 8)) return false;
      const count = b.readUInt32BE(32);
      if (b.length !== 40 + count * 12) return false;
      const index = new SparseIndex();
      try {
        for (let i = 0; i < count; i++) index.push(b.readDoubleBE(40 + i * 12), b.readUInt32BE(48 + i * 12));
      } catch {
        return false;
      }
      loaded.push({ index, size: b.readDoubleBE(8), next: b.readDoubleBE(16), maxTs: b.readDoubleBE(24) });
    }
    const [off, time] = loaded as [(typeof loaded)[0], (typeof loaded)[0]];
    if (off.size !== this.file.size() || time.size !== off.size || off.next !== time.next) return false;
    this.offsetIndex.keys = off.index.keys;
    this.offsetIndex.positions = off.index.positions;
    this.offsetIndex.length = off.index.length;
    this.timeIndex.keys = time.index.keys;
    this.timeIndex.positions = time.index.positions;
    this.timeIndex.length = time.index.length;
    this.size = off.size;
    this.nextOffset = off.next;
    this.maxTimestamp = off.maxTs;
    this.bytesSinceIndexEntry = Number.POSITIVE_INFINITY;
    this.indexesLoaded = true;
    this.indexesSaved = true;
    return true;
  }

  private requireIndexes(): void {
    if (!this.indexesLoaded) throw new Error(`segment invariant: indexes of segment ${this.baseOffset} used while released`);
  }

  get indexesResident(): boolean {
    return this.indexesLoaded;
  }

  /** Drops the in-memory indexes of a closed segment whose index files are current; false when they are not. */
  releaseIndexes(): boolean {
    if (!this.indexesSaved) return false;
    for (const index of [this.offsetIndex, this.timeIndex]) {
      index.keys = new Float64Array(16);
      index.positions = new Uint32Array(16);
      index.length = 0;
    }
    this.indexesLoaded = false;
    return true;
  }

  /** Brings released indexes back from their files, or rebuilds them by scanning when the files are unusable. */
  async ensureIndexes(): Promise<void> {
    if (this.indexesLoaded) return;
    const size = this.size;
    const next = this.nextOffset;
    if (await this.loadIndexes()) return;
    await this.recover(false, () => true);
    if (this.size !== size || this.nextOffset !== next) {
      throw new Error(`segment invariant: segment ${this.baseOffset} changed while its indexes were released`);
    }
    await this.saveIndexes();
  }

  async removeIndexes(): Promise<void> {
    this.indexesSaved = false;
    for (const p of [this.indexPath, this.timeIndexPath]) if (await this.disk.exists(p)) await this.disk.remove(p);
  }

  /**
   * Removes the segment's files, the `.log` first: when that fails nothing changed and the caller keeps the segment;
   * once it succeeded the segment is gone, and index files left behind by a later failure are removed at next open.
   */
  async removeFiles(): Promise<void> {
    if (await this.disk.exists(this.logPath)) await this.disk.remove(this.logPath);
    await this.file.close();
    await this.removeIndexes().catch(() => undefined);
  }
}
