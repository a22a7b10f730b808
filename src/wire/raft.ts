// The KRaft message family (KIP-595 Vote/BeginQuorumEpoch/EndQuorumEpoch/Fetch, KIP-630 FetchSnapshot, KIP-996
// pre-vote): one zod schema per request and response, the inferred type under the same name, and `raftApis` for the
// wire registry. Every epoch and offset is a non-negative safe integer; a frame that breaks that never reaches Raft.
import { z } from 'zod';
import { raftFetchEntriesMax, raftFetchMaxWaitMsMax, raftRecordBytesMax, raftVotersMax } from '../limits.js';
import { errorTable, type ErrorCode } from './errors.js';

/** Bytes of any backing buffer (CBOR decoding may hand us views over a shared buffer). */
const Bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');

const errorCodes = Object.keys(errorTable) as [ErrorCode, ...ErrorCode[]];

export const NodeId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const Epoch = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const Offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** `null` means success; otherwise a code of the shared error table. */
export const RaftErrorCode = z.enum(errorCodes).nullable();

/** What one log entry carries: an opaque record from the state machine above, or a control record of Raft itself. */
export const RaftRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('data'), data: Bytes.refine((d) => d.byteLength <= raftRecordBytesMax) }),
  // KIP-595: a new leader first commits a LeaderChange control record of its own epoch.
  z.object({ type: z.literal('leader-change'), leaderId: NodeId, voters: z.array(NodeId).max(raftVotersMax) }),
]);
export type RaftRecord = z.infer<typeof RaftRecord>;

export const RaftEntry = z.object({ offset: Offset, epoch: Epoch, record: RaftRecord });
export type RaftEntry = z.infer<typeof RaftEntry>;

/** An epoch and the offset just past its last entry (KIP-595's OffsetAndEpoch, as used for divergence). */
export const EpochEndOffset = z.object({ epoch: Epoch, endOffset: Offset });
export type EpochEndOffset = z.infer<typeof EpochEndOffset>;

/** A snapshot is named by the offset just past the last entry it covers and the epoch of that entry (KIP-630). */
export const SnapshotId = z.object({ endOffset: Offset, epoch: Epoch });
export type SnapshotId = z.infer<typeof SnapshotId>;

export const VoteRequest = z.object({
  /** The epoch the candidate runs in; for a pre-vote, the epoch it would run in (its current epoch + 1). */
  candidateEpoch: Epoch,
  candidateId: NodeId,
  /** Epoch of the candidate's last entry, and its log end offset: the "at least as up to date" test (Raft §5.4.1). */
  lastOffsetEpoch: Epoch,
  lastOffset: Offset,
  /** KIP-996: a pre-vote asks "would you vote for me?" without anyone changing epoch or vote. */
  preVote: z.boolean(),
});
export type VoteRequest = z.infer<typeof VoteRequest>;

export const VoteResponse = z.object({
  errorCode: RaftErrorCode,
  /** The responder's epoch and the leader it knows in it, so a stale candidate learns both. */
  leaderEpoch: Epoch,
  leaderId: NodeId.nullable(),
  voteGranted: z.boolean(),
  preVote: z.boolean(),
});
export type VoteResponse = z.infer<typeof VoteResponse>;

export const BeginQuorumEpochRequest = z.object({ leaderEpoch: Epoch, leaderId: NodeId });
export type BeginQuorumEpochRequest = z.infer<typeof BeginQuorumEpochRequest>;

export const BeginQuorumEpochResponse = z.object({ errorCode: RaftErrorCode, leaderEpoch: Epoch, leaderId: NodeId.nullable() });
export type BeginQuorumEpochResponse = z.infer<typeof BeginQuorumEpochResponse>;

export const EndQuorumEpochRequest = z.object({
  leaderEpoch: Epoch,
  leaderId: NodeId,
  /** Voters ordered by how far they had replicated; earlier ones start their election sooner. */
  preferredSuccessors: z.array(NodeId).max(raftVotersMax),
});
export type EndQuorumEpochRequest = z.infer<typeof EndQuorumEpochRequest>;

export const EndQuorumEpochResponse = z.object({ errorCode: RaftErrorCode, leaderEpoch: Epoch, leaderId: NodeId.nullable() });
export type EndQuorumEpochResponse = z.infer<typeof EndQuorumEpochResponse>;

export const FetchRequest = z.object({
  replicaId: NodeId,
  /** The fetcher's current epoch: a leader fences an older one and steps down for a newer one. */
  replicaEpoch: Epoch,
  /** The fetcher's log end offset and the epoch of its last entry; the leader checks them for divergence. */
  fetchOffset: Offset,
  lastFetchedEpoch: Epoch,
  maxEntries: z.number().int().positive().max(raftFetchEntriesMax),
  /**
   * KIP-595 long poll: the leader may hold a fetch that finds nothing new for up to this long, answering as soon as its
   * log grows or its high watermark differs from `highWatermark` (what the fetcher knows). Absent or 0: answer at once.
   */
  maxWaitMs: z.number().int().nonnegative().max(raftFetchMaxWaitMsMax).optional(),
  highWatermark: Offset.optional(),
});
export type FetchRequest = z.infer<typeof FetchRequest>;

export const FetchResponse = z.object({
  errorCode: RaftErrorCode,
  leaderEpoch: Epoch,
  leaderId: NodeId.nullable(),
  highWatermark: Offset,
  logStartOffset: Offset,
  /** Set when the fetcher's log diverges from the leader's: truncate to at most this and fetch again. */
  divergingEpoch: EpochEndOffset.nullable(),
  /** Set when the fetch offset is below the leader's log start: fetch this snapshot first (KIP-630). */
  snapshotId: SnapshotId.nullable(),
  entries: z.array(RaftEntry).max(raftFetchEntriesMax),
});
export type FetchResponse = z.infer<typeof FetchResponse>;

export const FetchSnapshotRequest = z.object({
  replicaId: NodeId,
  replicaEpoch: Epoch,
  snapshotId: SnapshotId,
  position: Offset,
  maxBytes: z.number().int().positive().max(raftRecordBytesMax),
});
export type FetchSnapshotRequest = z.infer<typeof FetchSnapshotRequest>;

export const FetchSnapshotResponse = z.object({
  errorCode: RaftErrorCode,
  leaderEpoch: Epoch,
  leaderId: NodeId.nullable(),
  snapshotId: SnapshotId,
  /** Total snapshot size, the position of this chunk, and the chunk. */
  size: Offset,
  position: Offset,
  bytes: Bytes.refine((d) => d.byteLength <= raftRecordBytesMax),
});
export type FetchSnapshotResponse = z.infer<typeof FetchSnapshotResponse>;

/** The family for the wire registry: api name → request and response schema. */
export const raftApis = {
  'raft.vote': { request: VoteRequest, response: VoteResponse },
  'raft.begin-quorum-epoch': { request: BeginQuorumEpochRequest, response: BeginQuorumEpochResponse },
  'raft.end-quorum-epoch': { request: EndQuorumEpochRequest, response: EndQuorumEpochResponse },
  'raft.fetch': { request: FetchRequest, response: FetchResponse },
  'raft.fetch-snapshot': { request: FetchSnapshotRequest, response: FetchSnapshotResponse },
} as const;
export type RaftApi = keyof typeof raftApis;

type Bodies = {
  [A in RaftApi as `${A}.request`]: z.infer<(typeof raftApis)[A]['request']>;
} & {
  [A in RaftApi as `${A}.response`]: z.infer<(typeof raftApis)[A]['response']>;
};

/**
 * One Raft message between nodes, as the Raft machine sees it: `type` is `<api>.request` or `<api>.response`, `from`
 * the sender, and `correlationId` is chosen by the requester and echoed by the response (the machine drops responses
 * to requests it no longer waits for). The host turns these into wire frames and back.
 */
export type RaftMessage = {
  [T in keyof Bodies]: { type: T; from: number; correlationId: number; body: Bodies[T] };
}[keyof Bodies];
export type RaftMessageType = RaftMessage['type'];
export type RaftMessageOf<T extends RaftMessageType> = Extract<RaftMessage, { type: T }>;

/** Validates a message at the edge (host or simulator) before it becomes a machine event. */
export function parseRaftMessage(input: {
  type: string;
  from: unknown;
  correlationId: unknown;
  body: unknown;
}): { ok: true; message: RaftMessage } | { ok: false; reason: string } {
  const match = /^(raft\.[a-z-]+)\.(request|response)$/.exec(input.type);
  const api = match?.[1];
  if (api === undefined || !(api in raftApis)) return { ok: false, reason: `unknown raft message type ${input.type}` };
  const schemas = raftApis[api as RaftApi];
  const schema = match?.[2] === 'request' ? schemas.request : schemas.response;
  const from = NodeId.safeParse(input.from);
  const correlationId = z.number().int().nonnegative().safeParse(input.correlationId);
  const body = schema.safeParse(input.body);
  if (!from.success) return { ok: false, reason: 'bad sender id' };
  if (!correlationId.success) return { ok: false, reason: 'bad correlation id' };
  if (!body.success) return { ok: false, reason: body.error.message };
  return {
    ok: true,
    message: { type: input.type, from: from.data, correlationId: correlationId.data, body: body.data } as RaftMessage,
  };
}
