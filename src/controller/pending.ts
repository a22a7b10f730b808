// The active controller's two images (KIP-631): `committed`, what the metadata log holds up to the high watermark,
// and `uncommitted`, that plus every batch written but not yet committed. Handlers run against `uncommitted` so a
// second request sees the first one's effects; responses wait for their batch to commit; on losing leadership the
// controller reverts to `committed`. Keeps: committed.offset <= uncommitted.offset; pending batches are in offset
// order and do not overlap (an empty barrier sits at the last offset before it); tokens come back in that order.
import { controllerPendingBatchesMax } from '../limits.js';
import { applyRecords, type MetadataImage } from './image.js';
import { invariant } from './invariant.js';
import type { MetadataRecord } from './records.js';

export interface PendingBatch<T> {
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The uncommitted image just after this batch. */
  readonly imageAfter: MetadataImage;
  /** What to do once the batch commits, e.g. the response to send; opaque here. */
  readonly token: T;
}

export interface ControllerImages<T> {
  readonly committed: MetadataImage;
  readonly uncommitted: MetadataImage;
  readonly pending: readonly PendingBatch<T>[];
}

/** True when no more batches may be proposed until some commit (the caller answers THROTTLING_QUOTA_EXCEEDED). */
export function isPendingFull<T>(state: ControllerImages<T>): boolean {
  return state.pending.length >= controllerPendingBatchesMax;
}

/** Both images equal `image` (a controller that just became active after replaying the whole log). */
export function startImages<T>(image: MetadataImage): ControllerImages<T> {
  return { committed: image, uncommitted: image, pending: [] };
}

/**
 * Records a batch the active controller wrote at `firstOffset` (the Raft log may hold control records in between,
 * so offsets need not follow on from the previous batch). A request that wrote nothing was still answered from the
 * uncommitted image, so it may not be answered before the batches pending now commit: with nothing pending its
 * token is ready at once, else it waits as an empty barrier behind them.
 */
export function propose<T>(state: ControllerImages<T>, firstOffset: number, records: readonly MetadataRecord[], token: T): { state: ControllerImages<T>; readyNow: T[] } {
  invariant(!isPendingFull(state), 'propose while the pending queue is full');
  if (records.length === 0) {
    if (state.pending.length === 0) return { state, readyNow: [token] };
    const barrier: PendingBatch<T> = { firstOffset: state.uncommitted.offset, lastOffset: state.uncommitted.offset, imageAfter: state.uncommitted, token };
    return { state: { ...state, pending: [...state.pending, barrier] }, readyNow: [] };
  }
  invariant(firstOffset > state.uncommitted.offset, () => `batch at ${firstOffset} does not follow the uncommitted image at ${state.uncommitted.offset}`);
  const imageAfter = applyRecords(state.uncommitted, records, firstOffset);
  const batch: PendingBatch<T> = { firstOffset, lastOffset: firstOffset + records.length - 1, imageAfter, token };
  return { state: { committed: state.committed, uncommitted: imageAfter, pending: [...state.pending, batch] }, readyNow: [] };
}

/**
 * The high watermark advanced to `highWatermark` (exclusive: offsets below it are committed). Batches wholly below it
 * commit; their tokens are returned in order. A batch is never split: Raft commits a batch's records together.
 */
export function commitUpTo<T>(state: ControllerImages<T>, highWatermark: number): { state: ControllerImages<T>; committedTokens: T[] } {
  let committed = state.committed;
  const committedTokens: T[] = [];
  let i = 0;
  for (; i < state.pending.length; i++) {
    const b = state.pending[i]!;
    if (b.lastOffset >= highWatermark) break;
    committed = b.imageAfter;
    committedTokens.push(b.token);
  }
  if (i === 0) return { state, committedTokens };
  const next = { committed, uncommitted: state.uncommitted, pending: state.pending.slice(i) };
  invariant(next.committed.offset <= next.uncommitted.offset, 'the committed image is ahead of the uncommitted one');
  return { state: next, committedTokens };
}

/** Leadership lost: everything not committed is forgotten; the tokens of dropped batches are returned (answer NOT_CONTROLLER). */
export function revertToCommitted<T>(state: ControllerImages<T>): { state: ControllerImages<T>; droppedTokens: T[] } {
  return { state: startImages(state.committed), droppedTokens: state.pending.map((b) => b.token) };
}

/** A standby controller (or broker) replays committed records written by the active one. */
export function replayCommitted<T>(state: ControllerImages<T>, firstOffset: number, records: readonly MetadataRecord[]): ControllerImages<T> {
  invariant(state.pending.length === 0, 'only a controller without pending writes replays others\' records');
  const image = applyRecords(state.committed, records, firstOffset);
  return startImages(image);
}
