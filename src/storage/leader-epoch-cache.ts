// The leader-epoch cache: for each leader epoch that wrote to this log, the first offset it wrote (KIP-101/KIP-279).
// Invariants: epochs strictly increase and start offsets never decrease along the list; every start offset is
// below the log end offset. It answers OffsetsForLeaderEpoch, which lets a follower truncate a diverged log.
import { leaderEpochEntriesMax } from '../limits.js';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  all(): readonly EpochEntry[] {
    return this.entries;
  }

  latest(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  /**
   * Records that `epoch` starts writing at `startOffset`. Returns true when the cache changed (and must be saved).
   * An epoch lower than the latest is a caller bug (a leader from the past writing): it throws.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`leader epoch must be >= 0, got ${epoch}`);
    const last = this.latest();
    if (last && epoch === last.epoch) return false;
    if (last && epoch < last.epoch) throw new Error(`leader epoch invariant: epoch ${epoch} after ${last.epoch}`);
    if (last && startOffset < last.startOffset) throw new Error(`leader epoch invariant: start ${startOffset} before ${last.startOffset}`);
    // An earlier epoch that wrote nothing (same start offset) is superseded.
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset === startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    if (this.entries.length > leaderEpochEntriesMax) this.entries.shift();
    return true;
  }

  /** Forgets epochs whose start offset is at or past `endOffset` (after a truncation). */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= endOffset) this.entries.pop();
    return this.entries.length !== before;
  }

  /** Moves the first epoch's start up to `startOffset` and drops epochs wholly before it (after deleting a prefix). */
  truncateFromStart(startOffset: number): boolean {
    let changed = false;
    while (this.entries.length > 1 && this.entries[1]!.startOffset <= startOffset) {
      this.entries.shift();
      changed = true;
    }
    const first = this.entries[0];
    if (first && first.startOffset < startOffset) {
      first.startOffset = startOffset;
      changed = true;
    }
    return changed;
  }

  /**
   * OffsetsForLeaderEpoch: the largest epoch <= `epoch` this log knows and the offset where the next epoch starts
   * (or the log end offset for the latest epoch). Unknown (older than everything) gives { epoch: -1, endOffset: -1 }.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.epoch <= epoch) {
        const next = this.entries[i + 1];
        return { epoch: e.epoch, endOffset: next ? next.startOffset : logEndOffset };
      }
    }
    return { epoch: -1, endOffset: -1 };
  }

  /** The epoch of the batch holding `offset`, or -1. */
  epochAt(offset: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.startOffset <= offset) return this.entries[i]!.epoch;
    return -1;
  }

  serialize(): Uint8Array {
    const lines = ['0', String(this.entries.length), ...this.entries.map((e) => `${e.epoch} ${e.startOffset}`)];
    return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  }

  /** Parses a checkpoint; a malformed file gives an empty cache (recovery rebuilds what it can from the batches). */
  static parse(bytes: Uint8Array): LeaderEpochCache {
    const cache = new LeaderEpochCache();
    const lines = Buffer.from(bytes).toString('utf8').trim().split('\n');
    if (lines[0] !== '0') return cache;
    const count = Number(lines[1]);
    if (!Number.isSafeInteger(count) || lines.length !== count + 2) return cache;
    try {
      for (const line of lines.slice(2)) {
        const [e, s] = line.split(' ').map(Number);
        if (!Number.isSafeInteger(e) || !Number.isSafeInteger(s)) return new LeaderEpochCache();
        cache.assign(e!, s!);
      }
    } catch {
      return new LeaderEpochCache();
    }
    return cache;
  }
}
