// The ports of the Raft machine: its log, its durable quorum state, where its messages go and who hears its
// commits. The machine only decides; whatever implements these (memory for tests, storage and wire in a broker, the
// simulator) does the I/O. Contract: a promise these return resolves only once the change is durable.
import type { Clock, Logger, Random } from '../runtime/index.js';
import type { ErrorCode } from '../wire/errors.js';
import type { EpochEndOffset, RaftEntry, RaftMessage, SnapshotId } from '../wire/raft.js';

export type NodeId = number;

/**
 * The replicated log. Reads are synchronous (the metadata log's index and entries are held in memory by the
 * implementation); mutations are visible to reads at once and durable when their promise resolves.
 * Invariants an implementation asserts: offsets are contiguous from `startOffset()`, epochs never decrease along
 * the log, and nothing below the snapshot is ever truncated.
 */
export interface RaftLog {
  /** First offset held (the end offset of the latest snapshot, or 0). */
  startOffset(): number;
  /** Offset the next entry gets (log end offset, LEO). */
  endOffset(): number;
  /** Epoch of the last entry (or of the snapshot when the log is empty past it; 0 for an empty log). */
  lastEpoch(): number;
  /** The entry at `offset`, or undefined outside [startOffset, endOffset). */
  entryAt(offset: number): RaftEntry | undefined;
  /** Up to `maxEntries` entries from `fromOffset` (which must be within [startOffset, endOffset]). */
  read(fromOffset: number, maxEntries: number): RaftEntry[];
  /**
   * KIP-595 divergence: the largest epoch <= `epoch` held in the log, and the offset just past its last entry.
   * When `epoch` is below everything held, `{ epoch: snapshot epoch or 0, endOffset: startOffset }`.
   */
  endOffsetForEpoch(epoch: number): EpochEndOffset;
  /** Appends entries that continue the log exactly (offset = endOffset, epoch >= lastEpoch). */
  append(entries: readonly RaftEntry[]): Promise<void>;
  /** Removes every entry at or past `offset` (offset >= startOffset). */
  truncateTo(offset: number): Promise<void>;
  /** The newest snapshot (KIP-630); its end offset is `startOffset()`. */
  latestSnapshot(): SnapshotId | null;
  /** Up to `maxBytes` of snapshot `id` from `position`, and its total size. Rejects when `id` is not held. */
  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Promise<{ size: number; bytes: Uint8Array }>;
  /**
   * Stores a snapshot of the committed state up to `id.endOffset` (whose last entry has epoch `id.epoch`) and drops
   * the entries it covers; the log then starts at `id.endOffset`. Used by the state machine above to compact.
   */
  createSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void>;
  /** A follower installs the leader's snapshot: every entry is dropped and the log starts (and ends) at `id.endOffset`. */
  installSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void>;
}

/** What Raft must remember across a crash (Kafka's quorum-state file). */
export interface QuorumState {
  epoch: number;
  votedFor: NodeId | null;
  leaderId: NodeId | null;
}

/** Durable quorum state. `write` resolves only when the state would survive a crash. */
export interface QuorumStateStore {
  read(): Promise<QuorumState>;
  write(state: QuorumState): Promise<void>;
}

/** Entries the quorum has committed, delivered once each, in offset order, with no gaps. */
export interface RaftListener {
  /** Entries below the new high watermark that were not delivered before (control records included). */
  onCommit(entries: readonly RaftEntry[], highWatermark: number): void;
  /** The node learned a new leader (or that there is none, `leaderId` null) for `epoch`. */
  onLeaderChange(change: { epoch: number; leaderId: NodeId | null }): void;
  /**
   * A follower replaced its log with the leader's snapshot: the state machine must reset to `bytes`; commits continue
   * from `id.endOffset`. (At start-up the host loads `log.latestSnapshot()` itself; commits start at the log start.)
   */
  onLoadSnapshot(id: SnapshotId, bytes: Uint8Array): void;
}

export type ProposeResult =
  | { ok: true; epoch: number; baseOffset: number; lastOffset: number }
  | { ok: false; code: Extract<ErrorCode, 'NOT_LEADER_OR_FOLLOWER' | 'NOT_CONTROLLER' | 'THROTTLING_QUOTA_EXCEEDED' | 'INVALID_REQUEST'>; leaderId: NodeId | null; epoch: number };

export interface RaftPorts {
  clock: Clock;
  random: Random;
  log: RaftLog;
  store: QuorumStateStore;
  logger: Logger;
  /** Carries `message` to node `to` (best effort: the network may lose it; Raft retries). */
  send(to: NodeId, message: RaftMessage): void;
  listener: RaftListener;
  /** The answer to a `raft.propose` event, by the request id the host gave it. */
  proposed(requestId: number, result: ProposeResult): void;
}

export interface RaftConfig {
  nodeId: NodeId;
  /** The voters (controller.quorum.voters); a node not in it is an observer. */
  voters: readonly NodeId[];
  electionTimeoutMs: number;
  fetchTimeoutMs: number;
  electionBackoffMaxMs: number;
  retryBackoffMs: number;
  fetchIdleMs: number;
  /** How long the leader may hold a fetch that finds nothing new (0: answer at once, followers poll every fetchIdleMs). */
  fetchMaxWaitMs: number;
  beginQuorumEpochRetryMs: number;
  observerDiscoveryMs: number;
  fetchRetryMs: number;
  /**
   * quorum.append.linger.ms: how long the leader gathers proposals before it appends them as one write (0: each is
   * appended as it arrives).
   */
  appendLingerMs: number;
}
