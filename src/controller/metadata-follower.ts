// Every node's committed metadata image (KIP-631 "metadata publisher"): it replays each committed metadata-log entry,
// in offset order, into a MetadataImage, whether the node is the active controller, a standby voter or a broker
// (a Raft observer). Keeps: the image is exactly the replay of the committed log up to `appliedOffset` (control
// records skipped); a committed entry that does not decode to a valid record is a broken log, and throws.
import { decodeFrame, encodeFrame } from '../wire/codec.js';
import type { RaftEntry, SnapshotId } from '../wire/raft.js';
import type { RaftListener, RaftLog } from '../raft/ports.js';
import { raftRecordBytesMax, raftSnapshotBytesMax } from '../limits.js';
import { applyRecord, emptyImage, type MetadataImage } from './image.js';
import { invariant } from './invariant.js';
import { MetadataRecord } from './records.js';
import { fromSnapshot, toSnapshot } from './snapshot.js';

/** One metadata record as the bytes of one Raft entry (CBOR, as every frame). */
export function encodeMetadataRecord(record: MetadataRecord): Uint8Array {
  return encodeFrame(record, raftRecordBytesMax);
}

/** The record in a committed entry's bytes; anything else means the log is corrupt. */
export function decodeMetadataRecord(bytes: Uint8Array): MetadataRecord {
  const frame = decodeFrame(bytes, raftRecordBytesMax);
  invariant(frame.ok, () => `metadata entry is not CBOR: ${frame.ok ? '' : frame.reason}`);
  const parsed = MetadataRecord.safeParse(frame.value);
  invariant(parsed.success, () => `metadata entry is not a valid record: ${parsed.error?.message ?? ''}`);
  return parsed.data;
}

/** The committed image as snapshot bytes (KIP-630), for RaftNode.createSnapshot. */
export function encodeImageSnapshot(image: MetadataImage): Uint8Array {
  return encodeFrame(toSnapshot(image), raftSnapshotBytesMax);
}

export function decodeImageSnapshot(bytes: Uint8Array): MetadataImage {
  const frame = decodeFrame(bytes, raftSnapshotBytesMax);
  invariant(frame.ok, 'metadata snapshot is not CBOR');
  return fromSnapshot(frame.value);
}

export interface Leadership {
  readonly epoch: number;
  /** null: no leader known (an election is under way). */
  readonly leaderId: number | null;
}

/** What subscribers hear, after the follower's own state has been updated. */
export type FollowerEvent =
  | { readonly type: 'committed'; readonly image: MetadataImage; readonly highWatermark: number }
  | { readonly type: 'leadership'; readonly leadership: Leadership };

export interface MetadataFollower {
  /** Pass this to createRaftNode as its listener. */
  readonly listener: RaftListener;
  /** The committed image. */
  image(): MetadataImage;
  /** Raft entries below this offset have been replayed (the committed high watermark as delivered). */
  appliedOffset(): number;
  leadership(): Leadership;
  subscribe(fn: (event: FollowerEvent) => void): () => void;
}

/**
 * `initial` is the image of the log's latest snapshot (the host loads it at start-up, as Raft expects), with
 * `startOffset` the end offset of that snapshot.
 */
export function createMetadataFollower(options: { initial?: MetadataImage; startOffset?: number } = {}): MetadataFollower {
  let image = options.initial ?? emptyImage;
  let applied = options.startOffset ?? 0;
  invariant(image.offset < applied || (image.offset === -1 && applied === 0), 'the initial image lies beyond its start offset');
  let leadership: Leadership = { epoch: 0, leaderId: null };
  const subscribers = new Set<(event: FollowerEvent) => void>();
  const publish = (event: FollowerEvent): void => {
    for (const fn of [...subscribers]) fn(event);
  };

  const listener: RaftListener = {
    onCommit(entries: readonly RaftEntry[], highWatermark: number) {
      for (const entry of entries) {
        invariant(entry.offset === applied, () => `committed entry ${entry.offset} does not follow ${applied - 1}`);
        if (entry.record.type === 'data') image = applyRecord(image, decodeMetadataRecord(entry.record.data), entry.offset);
        applied = entry.offset + 1;
      }
      invariant(applied <= highWatermark, () => `replayed past the high watermark (${applied} > ${highWatermark})`);
      publish({ type: 'committed', image, highWatermark });
    },
    onLeaderChange(change) {
      invariant(change.epoch >= leadership.epoch, () => `leader epoch went back from ${leadership.epoch} to ${change.epoch}`);
      leadership = { epoch: change.epoch, leaderId: change.leaderId };
      publish({ type: 'leadership', leadership });
    },
    onLoadSnapshot(id: SnapshotId, bytes: Uint8Array) {
      const loaded = decodeImageSnapshot(bytes);
      invariant(loaded.offset < id.endOffset, () => `snapshot image at ${loaded.offset} beyond its end offset ${id.endOffset}`);
      image = loaded;
      applied = id.endOffset;
      publish({ type: 'committed', image, highWatermark: applied });
    },
  };

  return {
    listener,
    image: () => image,
    appliedOffset: () => applied,
    leadership: () => leadership,
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

/**
 * A follower that starts from the log's latest snapshot (KIP-630), as a restarting node must: Raft then delivers the
 * committed entries after it. Reads the snapshot whole (it is bounded by raftSnapshotBytesMax).
 */
export async function createMetadataFollowerFromLog(log: RaftLog): Promise<MetadataFollower> {
  const id = log.latestSnapshot();
  if (id === null) return createMetadataFollower();
  const chunks: Uint8Array[] = [];
  let position = 0;
  for (;;) {
    const { size, bytes } = await log.readSnapshot(id, position, raftSnapshotBytesMax);
    invariant(size <= raftSnapshotBytesMax, () => `snapshot of ${size} bytes is over the limit`);
    chunks.push(bytes);
    position += bytes.byteLength;
    if (position >= size || bytes.byteLength === 0) break;
  }
  return createMetadataFollower({ initial: decodeImageSnapshot(Buffer.concat(chunks)), startOffset: id.endOffset });
}

/**
 * Compaction (KIP-630): hands Raft the committed image as a snapshot at the replayed offset, so the log may drop
 * what it covers. Returns false when there is nothing new to cover.
 */
export async function snapshotMetadataLog(raft: { createSnapshot(endOffset: number, bytes: Uint8Array): Promise<unknown> }, log: RaftLog, follower: MetadataFollower): Promise<boolean> {
  const endOffset = follower.appliedOffset();
  if (endOffset <= log.startOffset()) return false;
  await raft.createSnapshot(endOffset, encodeImageSnapshot(follower.image()));
  return true;
}
