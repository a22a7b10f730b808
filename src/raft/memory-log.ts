// An in-memory RaftLog for tests and the simulator until the segmented log is wired in. It keeps the log's
// invariants (contiguous offsets, epochs never decreasing, no truncation below the snapshot) and throws on a breach.
import type { EpochEndOffset, RaftEntry, SnapshotId } from '../wire/raft.js';
import type { RaftLog } from './ports.js';
import { invariant } from './quorum.js';

export class MemoryRaftLog implements RaftLog {
  private entries: RaftEntry[] = [];
  private snapshot: SnapshotId | null = null;

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

  /** Every entry held (tests and checkers read whole logs). */
  all(): readonly RaftEntry[] {
    return this.entries;
  }
}
