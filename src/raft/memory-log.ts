// An in-memory RaftLog (with its snapshot) for tests and the simulator until the segmented log is wired in. It keeps
// the log's invariants (contiguous offsets, epochs never decreasing, no truncation below the snapshot), throwing on a breach.
import type { EpochEndOffset, RaftEntry, SnapshotId } from '../wire/raft.js';
import type { RaftLog } from './ports.js';
import { invariant } from './quorum.js';

export class MemoryRaftLog implements RaftLog {
  private entries: RaftEntry[] = [];
  private snapshot: SnapshotId | null = null;
  private snapshotBytes: Uint8Array = new Uint8Array(0);

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
    return this.entries[offset - this.startOffset()];
  }

  read(fromOffset: number, maxEntries: number): RaftEntry[] {
    invariant(fromOffset >= this.startOffset() && fromOffset <= this.endOffset(), () => `read at ${fromOffset} outside [${this.startOffset()}, ${this.endOffset()}]`);
    const from = fromOffset - this.startOffset();
    return this.entries.slice(from, from + maxEntries);
  }

  endOffsetForEpoch(epoch: number): EpochEndOffset {
    // Scan from the end: the answer is the last entry whose epoch is <= the one asked for.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry !== undefined && entry.epoch <= epoch) return { epoch: entry.epoch, endOffset: entry.offset + 1 };
    }
    const snapshotEpoch = this.snapshot?.epoch ?? 0;
    return { epoch: Math.min(snapshotEpoch, epoch), endOffset: this.startOffset() };
  }

  append(entries: readonly RaftEntry[]): Promise<void> {
    for (const entry of entries) {
      invariant(entry.offset === this.endOffset(), () => `append at ${entry.offset} but the log ends at ${this.endOffset()}`);
      invariant(entry.epoch >= this.lastEpoch(), () => `append of epoch ${entry.epoch} after epoch ${this.lastEpoch()}`);
      this.entries.push(entry);
    }
    return Promise.resolve();
  }

  truncateTo(offset: number): Promise<void> {
    invariant(offset >= this.startOffset(), () => `truncate to ${offset} below the log start ${this.startOffset()}`);
    if (offset < this.endOffset()) this.entries.length = offset - this.startOffset();
    return Promise.resolve();
  }

  latestSnapshot(): SnapshotId | null {
    return this.snapshot;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Promise<{ size: number; bytes: Uint8Array }> {
    if (this.snapshot === null || this.snapshot.endOffset !== id.endOffset || this.snapshot.epoch !== id.epoch) {
      return Promise.reject(new Error(`no snapshot ${id.endOffset}@${id.epoch}`));
    }
    const size = this.snapshotBytes.byteLength;
    return Promise.resolve({ size, bytes: this.snapshotBytes.slice(Math.min(position, size), Math.min(position + maxBytes, size)) });
  }

  createSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset > this.startOffset() && id.endOffset <= this.endOffset(), () => `snapshot end ${id.endOffset} outside the log`);
    invariant(this.entryAt(id.endOffset - 1)?.epoch === id.epoch, () => `snapshot epoch ${id.epoch} does not match the entry before ${id.endOffset}`);
    this.entries = this.entries.slice(id.endOffset - this.startOffset());
    this.snapshot = { ...id };
    this.snapshotBytes = bytes.slice();
    return Promise.resolve();
  }

  installSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset >= this.startOffset(), 'installing a snapshot older than the log start');
    this.entries = [];
    this.snapshot = { ...id };
    this.snapshotBytes = bytes.slice();
    return Promise.resolve();
  }

  /** Every entry held (tests and checkers read whole logs). */
  all(): readonly RaftEntry[] {
    return this.entries;
  }
}
