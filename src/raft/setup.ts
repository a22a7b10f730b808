// The vocabulary of the Raft machine: context, events, guards (predicates), actions (verbs) and invoked actors (the
// only way it waits for the disk). Effects go through RaftPorts; the arithmetic is in quorum.ts. Invariants kept
// here: the epoch never decreases, the high watermark never decreases and stays <= the log end, committed entries
// are delivered once and in order, and nothing is sent that depends on a quorum-state write before it completed.
import { assign, fromPromise, setup } from 'xstate';
import {
  raftFetchEntriesMax,
  raftFetchTimeoutJitterFraction,
  raftSuccessorStaggerMs,
  raftProposalRecordsMax,
  raftRecordBytesMax,
  raftSnapshotBytesMax,
  raftSnapshotChunkBytes,
  raftUncommittedEntriesMax,
  raftUnreachableLeaderDelayMsMax,
  raftUnreachableLeaderDelayMsMin,
} from '../limits.js';
import type { ErrorCode } from '../wire/errors.js';
import type { FetchResponse, RaftEntry, RaftMessage, RaftMessageOf, RaftMessageType, SnapshotId } from '../wire/raft.js';
import type { NodeId, QuorumState, RaftConfig, RaftLog, RaftPorts } from './ports.js';
import { assertQuorumTransition } from './memory-quorum-store.js';
import {
  decideVote,
  electionBackoffMs,
  fetchDivergence,
  hasMajority,
  highWatermark,
  invariant,
  quorumContactDeadlineMs,
  randomElectionTimeoutMs,
  truncationOffset,
  unreachableLeaderDelayMs,
  type VoteDecision,
} from './quorum.js';

export type RaftRole = 'loading' | 'persisting' | 'unattached' | 'prospective' | 'candidate' | 'leader' | 'follower' | 'resigned';

export interface ReplicaProgress {
  /** The replica's log end offset as of its last agreeing fetch in this epoch (-1: not yet). */
  endOffset: number;
  /** When it last fetched in this epoch (null: not yet). */
  lastContactMs: number | null;
}

/** A fetch the leader holds (KIP-595 long poll); at most one per replica, the newest. */
export interface ParkedFetch {
  from: NodeId;
  correlationId: number;
  fetchOffset: number;
  maxEntries: number;
  /** The high watermark the fetcher knows; a different one is news worth answering for. */
  knownHighWatermark: number;
  deadlineMs: number;
}

/** A proposal waiting out the append linger (quorum.append.linger.ms) on the leader. */
export interface LingeringProposal {
  requestId: number;
  records: Uint8Array[];
}

type ProposeEvent = Extract<RaftEvent, { type: 'raft.propose' }>;

export interface Outbound {
  to: NodeId;
  message: RaftMessage;
}

export interface RaftContext {
  config: RaftConfig;
  ports: RaftPorts;
  isVoter: boolean;
  role: RaftRole;
  /** The quorum state as last persisted (leaderId may be cleared in memory when the leader is known to be gone). */
  quorum: QuorumState;
  /** A quorum state to persist, and the replies that may go out only once it is durable. */
  pendingQuorum: QuorumState | null;
  pendingReplies: Outbound[];
  highWatermark: number;
  /** Entries below this were delivered to the listener. */
  appliedOffset: number;
  nextCorrelationId: number;
  /** Correlation id of the current (pre-)vote round or of the outstanding fetch. */
  roundCorrelationId: number;
  granted: NodeId[];
  rejected: NodeId[];
  failedElections: number;
  /** The next election wait, drawn on entry to a state that waits for one. */
  electionDelayMs: number;
  /**
   * The leader we gave up on in this epoch (fetch timeout or resignation). Others may still name it for a while;
   * only the leader itself speaking again makes it our leader once more, else no one could ever be elected.
   */
  lostLeader: { epoch: number; leaderId: NodeId } | null;
  /** Set by EndQuorumEpoch: start the next election after this instead of a full timeout. */
  electionDelayOverrideMs: number | null;
  // Leader
  epochStartOffset: number;
  leaderSinceMs: number;
  flushedEndOffset: number;
  replicas: Record<number, ReplicaProgress>;
  checkQuorumDelayMs: number;
  /** Fetches that found nothing new, held until the log grows, the high watermark moves or their wait ends. */
  parkedFetches: ParkedFetch[];
  /** Proposals gathered for the next append (quorum.append.linger.ms), and their record count. */
  lingeringProposals: LingeringProposal[];
  lingeringRecords: number;
  // Follower
  /** When the leader last answered a fetch (or when we started following it). */
  leaderContactMs: number;
  fetchedEntries: RaftEntry[];
  fetchedHighWatermark: number;
  /**
   * Added to the fetch timeout, drawn when we start following. The leader answers its held fetches together, so its
   * followers hear from it last at the same instant; without a spread they would time out together and split the vote.
   */
  fetchTimeoutJitterMs: number;
  /** The transport reported the current leader's connection reset; cleared when the leader answers or changes. */
  leaderUnreachable: boolean;
  /** The wait in `suspecting` before giving up on that leader, drawn on entry. */
  suspectDelayMs: number;
  /** A snapshot being fetched from the leader (KIP-630), chunk by chunk. */
  snapshotFetch: SnapshotFetch | null;
  truncateOffset: number;
  /** Id of the follower's latest append of fetched entries; only its completion moves `appending` on. */
  appendId: number;
}

export class RaftStorageError extends Error {
  constructor(reason: string) {
    super(`raft log write failed: ${reason}`);
    this.name = 'RaftStorageError';
  }
}

export interface SnapshotFetch {
  id: SnapshotId;
  size: number | null;
  received: number;
  chunks: Uint8Array[];
}

export type RaftEvent =
  | RaftMessage
  /** From the controller: append these records if this node leads; answered through `ports.proposed`. */
  | { type: 'raft.propose'; requestId: number; records: Uint8Array[] }
  /** Graceful shutdown: a leader resigns with EndQuorumEpoch so the others need not wait for a timeout. */
  | { type: 'raft.shutdown' }
  /** The leader's own append of entries up to `endOffset` in `epoch` became durable. */
  | { type: 'raft.log.flushed'; epoch: number; endOffset: number }
  /** The leader's append failed (disk full, I/O error): the node cannot go on safely. */
  | { type: 'raft.log.failed'; reason: string }
  /** A follower's append of fetched entries (`appendId`) became durable. */
  | { type: 'raft.log.appended'; appendId: number }
  /**
   * From the host's transport: the connection to `nodeId` was reset or failed (a crashed process), not merely silent.
   * A hint, never proof: a follower only probes its leader and pre-votes early; the others' refusals keep it harmless.
   */
  | { type: 'raft.peer.unreachable'; nodeId: NodeId };

export interface RaftInput {
  config: RaftConfig;
  ports: RaftPorts;
}

export const raftMessageTypes = [
  'raft.vote.request',
  'raft.vote.response',
  'raft.begin-quorum-epoch.request',
  'raft.begin-quorum-epoch.response',
  'raft.end-quorum-epoch.request',
  'raft.end-quorum-epoch.response',
  'raft.fetch.request',
  'raft.fetch.response',
  'raft.fetch-snapshot.request',
  'raft.fetch-snapshot.response',
] as const satisfies readonly RaftMessageType[];

function isMessage(event: RaftEvent): event is RaftMessage {
  return (raftMessageTypes as readonly string[]).includes(event.type);
}

/** The (epoch, leader) an inbound message tells us about, if any. */
export function observedLeadership(event: RaftEvent): { epoch: number; leaderId: NodeId | null } | null {
  if (!isMessage(event)) return null;
  switch (event.type) {
    case 'raft.vote.request':
      return null; // decided by decideVote, which knows about pre-votes
    case 'raft.begin-quorum-epoch.request':
      return { epoch: event.body.leaderEpoch, leaderId: event.body.leaderId };
    case 'raft.end-quorum-epoch.request':
      return { epoch: event.body.leaderEpoch, leaderId: null }; // that leader is resigning
    case 'raft.fetch.request':
    case 'raft.fetch-snapshot.request':
      return { epoch: event.body.replicaEpoch, leaderId: null };
    default:
      return { epoch: event.body.leaderEpoch, leaderId: event.body.leaderId };
  }
}

/**
 * True when the message shows a newer epoch, or a leader of our epoch we did not know: either way we adopt it
 * (persisting first). Two different leaders in one epoch would break Raft and are asserted against.
 */
export function learnsLeadership(context: RaftContext, event: RaftEvent): boolean {
  const seen = observedLeadership(event);
  if (seen === null) return false;
  if (seen.epoch > context.quorum.epoch) return true;
  if (seen.epoch < context.quorum.epoch || seen.leaderId === null) return false;
  // Old news about our own leadership (we restarted or resigned in this epoch): nothing to adopt.
  if (seen.leaderId === context.config.nodeId && context.role !== 'leader') return false;
  if (context.role === 'leader' || context.quorum.leaderId === context.config.nodeId) {
    invariant(seen.leaderId === context.config.nodeId, () => `node ${seen.leaderId} claims to lead epoch ${seen.epoch}, led by ${context.config.nodeId}`);
    return false;
  }
  const lost = context.lostLeader;
  if (lost !== null && lost.epoch === seen.epoch && lost.leaderId === seen.leaderId && isMessage(event) && event.from !== seen.leaderId) {
    return false;
  }
  if (context.quorum.leaderId !== null) {
    invariant(seen.leaderId === context.quorum.leaderId, () => `two leaders in epoch ${seen.epoch}: ${context.quorum.leaderId} and ${seen.leaderId}`);
    return false;
  }
  return true;
}

function logPosition(log: RaftLog): { lastEpoch: number; endOffset: number } {
  return { lastEpoch: log.lastEpoch(), endOffset: log.endOffset() };
}

function voteDecision(context: RaftContext, event: RaftEvent): VoteDecision | null {
  if (event.type !== 'raft.vote.request') return null;
  return decideVote(
    {
      quorum: context.quorum,
      log: logPosition(context.ports.log),
      isVoter: context.isVoter,
      // A follower whose connection to its leader was reset no longer vouches for it (KIP-996 speaks of a leader heard
      // from; a reset says it is gone), so the first follower to give up is not refused by the second.
      hasLiveLeader: (context.role === 'follower' && !context.leaderUnreachable) || context.role === 'leader',
      epochHadLeader: context.lostLeader !== null && context.lostLeader.epoch === context.quorum.epoch,
    },
    event.body,
  );
}

function message<T extends RaftMessageType>(context: RaftContext, type: T, correlationId: number, body: RaftMessageOf<T>['body']): RaftMessage {
  return { type, from: context.config.nodeId, correlationId, body } as RaftMessage;
}

function otherVoters(context: RaftContext): NodeId[] {
  return context.config.voters.filter((id) => id !== context.config.nodeId);
}

function fetchReply(context: RaftContext, errorCode: ErrorCode | null, extra: Partial<FetchResponse> = {}): FetchResponse {
  return {
    errorCode,
    leaderEpoch: context.quorum.epoch,
    leaderId: context.quorum.leaderId,
    highWatermark: context.highWatermark,
    logStartOffset: context.ports.log.startOffset(),
    divergingEpoch: null,
    snapshotId: null,
    entries: [],
    ...extra,
  };
}

function drawElectionDelay(context: RaftContext): number {
  const { electionTimeoutMs, retryBackoffMs, electionBackoffMaxMs } = context.config;
  return (
    randomElectionTimeoutMs(electionTimeoutMs, context.ports.random.next()) +
    electionBackoffMs(context.failedElections, retryBackoffMs, electionBackoffMaxMs, context.ports.random.next())
  );
}

/** The leader's view of who holds what, turned into a high watermark (voters only, the leader's durable end). */
function leaderHighWatermark(context: RaftContext): number {
  const endOffsets = context.config.voters.map((id) =>
    id === context.config.nodeId ? context.flushedEndOffset : (context.replicas[id]?.endOffset ?? -1),
  );
  return highWatermark(endOffsets, context.highWatermark, context.epochStartOffset);
}

function checkHighWatermark(context: RaftContext, next: number): number {
  invariant(next >= context.highWatermark, () => `high watermark went back from ${context.highWatermark} to ${next}`);
  invariant(next <= context.ports.log.endOffset(), () => `high watermark ${next} past the log end ${context.ports.log.endOffset()}`);
  return next;
}

/** A change of the context computed from the context and the event (sending is allowed; the chart decides when). */
type ContextUpdate = (context: RaftContext, event: RaftEvent, self: RaftEventSink) => Partial<RaftContext>;

/** The actor itself, for the completions of writes it starts (`raft.log.flushed`, `raft.log.failed`). */
interface RaftEventSink {
  send(event: RaftEvent): void;
}

/**
 * The context updates of the hot paths (fetch serving, proposals, flushes, fetch answers). Each is also an action of
 * its own name; `update(...)` runs several as one assign, each seeing what the previous left: xstate copies the context
 * and rebuilds its snapshot once per assign, and these run on every Raft message, several per event.
 */
const contextUpdates = {
  serveFetch: (context: RaftContext, event: RaftEvent): Partial<RaftContext> => {
    if (event.type !== 'raft.fetch.request') return {};
    const { body } = event;
    const log = context.ports.log;
    const reply = (r: FetchResponse): void => context.ports.send(event.from, message(context, 'raft.fetch.response', event.correlationId, r));
    if (body.replicaEpoch < context.quorum.epoch) {
      reply(fetchReply(context, 'FENCED_LEADER_EPOCH'));
      return {};
    }
    const now = context.ports.clock.now();
    const known = context.replicas[event.from];
    const replicas = { ...context.replicas, [event.from]: { endOffset: known?.endOffset ?? -1, lastContactMs: now } };
    if (body.fetchOffset < log.startOffset()) {
      reply(fetchReply(context, null, { snapshotId: log.latestSnapshot() }));
      return { replicas };
    }
    const diverging = fetchDivergence(body.fetchOffset, body.lastFetchedEpoch, log.endOffsetForEpoch(body.lastFetchedEpoch));
    if (diverging !== null || body.fetchOffset > log.endOffset()) {
      const divergingEpoch = diverging ?? log.endOffsetForEpoch(body.lastFetchedEpoch);
      reply(fetchReply(context, null, { divergingEpoch }));
      return { replicas };
    }
    // The fetch agrees with our log up to fetchOffset, so the replica holds our prefix up to there.
    replicas[event.from] = { endOffset: body.fetchOffset, lastContactMs: now };
    const next = { ...context, replicas };
    const hw = checkHighWatermark(context, leaderHighWatermark(next));
    const entries = log.read(body.fetchOffset, Math.min(body.maxEntries, raftFetchEntriesMax));
    // A newer fetch from the same replica supersedes one we hold (that one's answer would be ignored as stale).
    const others = context.parkedFetches.filter((p) => p.from !== event.from);
    const maxWaitMs = Math.min(body.maxWaitMs ?? 0, context.config.fetchMaxWaitMs);
    if (entries.length === 0 && maxWaitMs > 0 && hw === (body.highWatermark ?? -1)) {
      const parked: ParkedFetch = {
        from: event.from,
        correlationId: event.correlationId,
        fetchOffset: body.fetchOffset,
        maxEntries: body.maxEntries,
        knownHighWatermark: hw,
        deadlineMs: now + maxWaitMs,
      };
      return { replicas, highWatermark: hw, parkedFetches: [...others, parked] };
    }
    reply(fetchReply({ ...next, highWatermark: hw }, null, { entries }));
    return { replicas, highWatermark: hw, parkedFetches: others };
  },
  answerParkedFetches: (context: RaftContext): Partial<RaftContext> => {
    if (context.parkedFetches.length === 0) return {};
    const log = context.ports.log;
    const now = context.ports.clock.now();
    const kept: ParkedFetch[] = [];
    for (const p of context.parkedFetches) {
      const due = log.endOffset() > p.fetchOffset || context.highWatermark !== p.knownHighWatermark || now >= p.deadlineMs || p.fetchOffset < log.startOffset();
      if (!due) {
        kept.push(p);
        continue;
      }
      // A leader never truncates its own log, so the fetch still agrees with it; compaction may have passed it.
      const answer =
        p.fetchOffset < log.startOffset()
          ? fetchReply(context, null, { snapshotId: log.latestSnapshot() })
          : fetchReply(context, null, { entries: log.read(p.fetchOffset, Math.min(p.maxEntries, raftFetchEntriesMax)) });
      context.ports.send(p.from, message(context, 'raft.fetch.response', p.correlationId, answer));
    }
    return kept.length === context.parkedFetches.length ? {} : { parkedFetches: kept };
  },
  recordFlush: (context: RaftContext, event: RaftEvent): Partial<RaftContext> => {
    if (event.type !== 'raft.log.flushed') return {};
    const flushedEndOffset = Math.max(context.flushedEndOffset, Math.min(event.endOffset, context.ports.log.endOffset()));
    const hw = checkHighWatermark(context, leaderHighWatermark({ ...context, flushedEndOffset }));
    return { flushedEndOffset, highWatermark: hw };
  },
  markLeaderContact: (context: RaftContext): Partial<RaftContext> => ({ leaderContactMs: context.ports.clock.now() }),
  stageEntries: (_context: RaftContext, event: RaftEvent): Partial<RaftContext> => {
    if (event.type !== 'raft.fetch.response') return {};
    const entries = event.body.entries;
    entries.forEach((e, i) => invariant(i === 0 || e.offset === (entries[i - 1]?.offset ?? -1) + 1, 'fetched entries are not contiguous'));
    return { fetchedEntries: entries, fetchedHighWatermark: event.body.highWatermark };
  },
  stageHighWatermark: (_context: RaftContext, event: RaftEvent): Partial<RaftContext> => {
    if (event.type !== 'raft.fetch.response') return {};
    return { fetchedEntries: [], fetchedHighWatermark: event.body.highWatermark };
  },
  advanceFollowerHighWatermark: (context: RaftContext): Partial<RaftContext> => {
    const candidate = Math.min(context.fetchedHighWatermark, context.ports.log.endOffset());
    const hw = checkHighWatermark(context, Math.max(context.highWatermark, candidate));
    return { highWatermark: hw, fetchedEntries: [] };
  },
  /** Appends a proposal at once (no linger): it is readable now, and counts for the high watermark once durable. */
  appendProposal: (context: RaftContext, event: RaftEvent, self: RaftEventSink): Partial<RaftContext> => {
    if (event.type !== 'raft.propose' || !proposalAcceptable(context, event)) return {};
    appendProposalsAsLeader(context, [event], self);
    return {};
  },
  /** quorum.append.linger.ms: the proposal waits, with those before it, to be appended as one write. */
  lingerProposal: (context: RaftContext, event: RaftEvent): Partial<RaftContext> => {
    if (event.type !== 'raft.propose' || !proposalAcceptable(context, event)) return {};
    const lingeringRecords = context.lingeringRecords + event.records.length;
    invariant(lingeringRecords <= raftUncommittedEntriesMax, 'lingering proposals past the uncommitted bound');
    return { lingeringProposals: [...context.lingeringProposals, { requestId: event.requestId, records: event.records }], lingeringRecords };
  },
  appendLingeringProposals: (context: RaftContext, _event: RaftEvent, self: RaftEventSink): Partial<RaftContext> => {
    if (context.lingeringProposals.length === 0) return {};
    appendProposalsAsLeader(context, context.lingeringProposals, self);
    return { lingeringProposals: [], lingeringRecords: 0 };
  },
  deliverCommitted: (context: RaftContext): Partial<RaftContext> => {
    const log = context.ports.log;
    invariant(context.highWatermark <= log.endOffset(), 'high watermark past the log end');
    let applied = context.appliedOffset;
    while (applied < context.highWatermark) {
      const batch = log.read(applied, Math.min(raftFetchEntriesMax, context.highWatermark - applied));
      invariant(batch.length > 0 && batch[0]?.offset === applied, () => `committed entry ${applied} missing from the log`);
      context.ports.listener.onCommit(batch, context.highWatermark);
      applied += batch.length;
    }
    return { appliedOffset: applied };
  },
} satisfies Record<string, ContextUpdate>;

export type ContextUpdateName = keyof typeof contextUpdates;
const updates: Readonly<Record<ContextUpdateName, ContextUpdate>> = contextUpdates;

function runContextUpdates(context: RaftContext, event: RaftEvent, self: RaftEventSink, names: readonly ContextUpdateName[]): Partial<RaftContext> {
  let working: RaftContext | null = null;
  for (const name of names) {
    const change = updates[name](working ?? context, event, self);
    if (Object.keys(change).length === 0) continue;
    working ??= { ...context };
    Object.assign(working, change);
  }
  return working ?? {};
}

/** The chart's way to run several context updates in order as one assign: `actions: update('serveFetch', 'deliverCommitted')`. */
export function update(...steps: ContextUpdateName[]): { type: 'update'; params: { steps: readonly ContextUpdateName[] } } {
  return { type: 'update', params: { steps } };
}

export const raftSetup = setup({
  types: {
    context: {} as RaftContext,
    events: {} as RaftEvent,
    input: {} as RaftInput,
  },
  actors: {
    loadQuorumState: fromPromise<QuorumState, { ports: RaftPorts }>(({ input }) => input.ports.store.read()),
    persistQuorumState: fromPromise<void, { ports: RaftPorts; state: QuorumState | null }>(({ input }) => {
      invariant(input.state !== null, 'persisting without a pending quorum state');
      return input.ports.store.write(input.state);
    }),
    truncateLog: fromPromise<void, { ports: RaftPorts; offset: number }>(({ input }) => input.ports.log.truncateTo(input.offset)),
    installSnapshot: fromPromise<void, { ports: RaftPorts; fetch: SnapshotFetch | null }>(({ input }) => {
      invariant(input.fetch !== null, 'installing a snapshot that was not fetched');
      return input.ports.log.installSnapshot(input.fetch.id, concatChunks(input.fetch.chunks));
    }),
  },
  delays: {
    electionDelay: ({ context }) => context.electionDelayMs,
    /** Resend a fetch whose answer is late, but never wait past the fetch timeout. */
    fetchRetry: ({ context }) =>
      Math.max(1, Math.min(context.config.fetchRetryMs, leaderDeadlineMs(context) - context.ports.clock.now())),
    /** A long-polled fetch may be held fetchMaxWaitMs by the leader before the usual retry wait starts. */
    longPollRetry: ({ context }) =>
      Math.max(
        1,
        Math.min(context.config.fetchRetryMs + context.config.fetchMaxWaitMs, leaderDeadlineMs(context) - context.ports.clock.now()),
      ),
    /** With long polling the leader already waited for news, so the next fetch goes out at once. */
    fetchIdle: ({ context }) => context.config.fetchIdleMs,
    /** The leader wakes when its earliest held fetch is due (or one max wait from now when none is held). */
    parkedFetchDue: ({ context }) => {
      const now = context.ports.clock.now();
      const due = context.parkedFetches.reduce((min, p) => Math.min(min, p.deadlineMs), now + Math.max(1, context.config.fetchMaxWaitMs || context.config.fetchRetryMs));
      return Math.max(1, due - now);
    },
    beginQuorumEpochRetry: ({ context }) => context.config.beginQuorumEpochRetryMs,
    appendLinger: ({ context }) => context.config.appendLingerMs,
    checkQuorum: ({ context }) => context.checkQuorumDelayMs,
    suspectDelay: ({ context }) => context.suspectDelayMs,
  },
  guards: {
    isVoter: ({ context }) => context.isVoter,
    isLongPolling: ({ context }) => context.config.fetchMaxWaitMs > 0,
    lingersAppends: ({ context }) => context.config.appendLingerMs > 0,
    /** This proposal makes the lingering batch as large as one fetch answer: append now rather than wait. */
    fillsLingerBatch: ({ context, event }) =>
      event.type === 'raft.propose' && context.lingeringRecords + event.records.length >= raftFetchEntriesMax,
    isSoleVoter: ({ context }) => context.isVoter && context.config.voters.length === 1,
    learnsLeadership: ({ context, event }) => learnsLeadership(context, event),
    voteNeedsPersistedGrant: ({ context, event }) => {
      const d = voteDecision(context, event);
      return d?.kind === 'persist-then-reply' && d.granted;
    },
    voteNeedsPersistedEpoch: ({ context, event }) => {
      const d = voteDecision(context, event);
      return d?.kind === 'persist-then-reply' && !d.granted;
    },
    pendingLeaderIsOther: ({ context }) =>
      context.pendingQuorum !== null && context.pendingQuorum.leaderId !== null && context.pendingQuorum.leaderId !== context.config.nodeId,
    loadedLeaderIsOther: ({ context, event }) => {
      if ((event as { type: string }).type !== 'xstate.done.actor.load') return false;
      const state = (event as unknown as { output: QuorumState }).output;
      return state.leaderId !== null && state.leaderId !== context.config.nodeId;
    },
    hasMajority: ({ context }) => hasMajority(context.granted, context.config.voters),
    isRoundVoteResponse: ({ context, event }) =>
      event.type === 'raft.vote.response' &&
      event.correlationId === context.roundCorrelationId &&
      event.body.preVote === (context.role === 'prospective') &&
      // A vote counts only in our epoch (a voter persists our epoch before it answers): a late answer from an older
      // round, even one whose correlation id matches by chance (say, sent to an earlier incarnation), is not a vote.
      (event.body.preVote || event.body.leaderEpoch === context.quorum.epoch) &&
      !learnsLeadership(context, event),
    isResigningLeader: ({ context, event }) =>
      event.type === 'raft.end-quorum-epoch.request' &&
      event.body.leaderEpoch === context.quorum.epoch &&
      event.body.leaderId === context.quorum.leaderId &&
      context.role === 'follower',
    isCurrentFetchResponse: ({ context, event }) =>
      event.type === 'raft.fetch.response' &&
      event.correlationId === context.roundCorrelationId &&
      event.from === context.quorum.leaderId &&
      event.body.leaderEpoch === context.quorum.epoch &&
      !learnsLeadership(context, event),
    fetchFailed: ({ event }) => event.type === 'raft.fetch.response' && event.body.errorCode !== null,
    fetchDiverged: ({ event }) => event.type === 'raft.fetch.response' && event.body.divergingEpoch !== null,
    fetchNeedsSnapshot: ({ event }) => event.type === 'raft.fetch.response' && event.body.snapshotId !== null,
    fetchHasEntries: ({ context, event }) =>
      event.type === 'raft.fetch.response' && event.body.entries[0]?.offset === context.ports.log.endOffset(),
    isCurrentSnapshotResponse: ({ context, event }) =>
      event.type === 'raft.fetch-snapshot.response' &&
      event.correlationId === context.roundCorrelationId &&
      event.from === context.quorum.leaderId &&
      event.body.leaderEpoch === context.quorum.epoch &&
      !learnsLeadership(context, event),
    snapshotFetchFailed: ({ context, event }) =>
      event.type === 'raft.fetch-snapshot.response' &&
      (event.body.errorCode !== null ||
        event.body.snapshotId.endOffset !== context.snapshotFetch?.id.endOffset ||
        event.body.snapshotId.epoch !== context.snapshotFetch.id.epoch ||
        event.body.position !== context.snapshotFetch.received ||
        event.body.size > raftSnapshotBytesMax ||
        (event.body.bytes.byteLength === 0 && event.body.position < event.body.size)),
    snapshotComplete: ({ context, event }) =>
      event.type === 'raft.fetch-snapshot.response' && (context.snapshotFetch?.received ?? 0) + event.body.bytes.byteLength >= event.body.size,
    isCurrentAppend: ({ context, event }) => event.type === 'raft.log.appended' && event.appendId === context.appendId,
    isCurrentFlush: ({ context, event }) => event.type === 'raft.log.flushed' && event.epoch === context.quorum.epoch,
    isLeaderReportedUnreachable: ({ context, event }) =>
      event.type === 'raft.peer.unreachable' && context.quorum.leaderId !== null && event.nodeId === context.quorum.leaderId,
    leaderReportedUnreachable: ({ context }) => context.leaderUnreachable,
    leaderSilentTooLong: ({ context }) => context.ports.clock.now() >= leaderDeadlineMs(context),
    hasQuorumContact: ({ context }) => quorumDeadline(context) > context.ports.clock.now(),
  },
  actions: {
    update: assign(({ context, event, self }, params: { steps: readonly ContextUpdateName[] }) => runContextUpdates(context, event, self, params.steps)),
    // ---- quorum state ----
    adoptLoadedQuorum: assign(({ context, event }) => {
      const state = (event as unknown as { output: QuorumState }).output;
      const startOffset = context.ports.log.startOffset();
      // A node that led before the crash cannot know whether it still does: it restarts without a leader.
      const leaderId = state.leaderId === context.config.nodeId ? null : state.leaderId;
      // The host starts out knowing no leader; later changes are announced only when they differ from this state, so a
      // restarted node that finds its epoch's leader on disk must announce it now or its host never learns of it
      // (brokers restarted within an epoch kept `leaderId` null and could not reach the controller).
      if (state.epoch > 0 || leaderId !== null) context.ports.listener.onLeaderChange({ epoch: state.epoch, leaderId });
      return { quorum: { ...state, leaderId }, highWatermark: startOffset, appliedOffset: startOffset };
    }),
    stageLeadership: assign(({ context, event }) => {
      const seen = observedLeadership(event);
      invariant(seen !== null, 'staging leadership from a message without one');
      const votedFor = seen.epoch === context.quorum.epoch ? context.quorum.votedFor : null;
      const pendingQuorum = { epoch: seen.epoch, votedFor, leaderId: seen.leaderId };
      const pendingReplies: Outbound[] = [];
      if (event.type === 'raft.begin-quorum-epoch.request' || event.type === 'raft.end-quorum-epoch.request') {
        const type = event.type === 'raft.begin-quorum-epoch.request' ? 'raft.begin-quorum-epoch.response' : 'raft.end-quorum-epoch.response';
        pendingReplies.push({
          to: event.from,
          message: message(context, type, event.correlationId, { errorCode: null, leaderEpoch: seen.epoch, leaderId: seen.leaderId }),
        });
      }
      return { pendingQuorum, pendingReplies };
    }),
    stageVote: assign(({ context, event }) => {
      const decision = voteDecision(context, event);
      invariant(decision?.kind === 'persist-then-reply' && event.type === 'raft.vote.request', 'staging a vote that needs no write');
      const reply = message(context, 'raft.vote.response', event.correlationId, {
        errorCode: null,
        leaderEpoch: decision.state.epoch,
        leaderId: decision.state.leaderId,
        voteGranted: decision.granted,
        preVote: false,
      });
      return { pendingQuorum: decision.state, pendingReplies: [{ to: event.from, message: reply }] };
    }),
    stageCandidacy: assign(({ context }) => ({
      pendingQuorum: { epoch: context.quorum.epoch + 1, votedFor: context.config.nodeId, leaderId: null },
      pendingReplies: [],
    })),
    stageLeadershipOfSelf: assign(({ context }) => ({
      pendingQuorum: { ...context.quorum, leaderId: context.config.nodeId },
      pendingReplies: [],
    })),
    commitPendingQuorum: assign(({ context }) => {
      const next = context.pendingQuorum;
      invariant(next !== null, 'no pending quorum state to commit');
      assertQuorumTransition(context.quorum, next);
      if (next.epoch !== context.quorum.epoch || next.leaderId !== context.quorum.leaderId) {
        context.ports.listener.onLeaderChange({ epoch: next.epoch, leaderId: next.leaderId });
      }
      return { quorum: next, pendingQuorum: null, lostLeader: next.epoch === context.quorum.epoch ? context.lostLeader : null };
    }),
    /** Persist before you speak: these replies were held until the quorum-state write completed. */
    sendPendingReplies: assign(({ context }) => {
      for (const { to, message: m } of context.pendingReplies) context.ports.send(to, m);
      return { pendingReplies: [] };
    }),
    forgetLeader: assign(({ context }) => {
      const leaderId = context.quorum.leaderId;
      if (leaderId === null) return {};
      context.ports.listener.onLeaderChange({ epoch: context.quorum.epoch, leaderId: null });
      return { quorum: { ...context.quorum, leaderId: null }, lostLeader: { epoch: context.quorum.epoch, leaderId }, leaderUnreachable: false };
    }),
    setRole: assign((_, params: { role: RaftRole }) => ({ role: params.role })),

    // ---- answers every state gives ----
    replyToVote: ({ context, event }) => {
      const decision = voteDecision(context, event);
      invariant(decision?.kind === 'reply' && event.type === 'raft.vote.request', 'immediate vote reply for a vote that needs a write');
      context.ports.send(
        event.from,
        message(context, 'raft.vote.response', event.correlationId, {
          errorCode: null,
          leaderEpoch: context.quorum.epoch,
          leaderId: context.quorum.leaderId,
          voteGranted: decision.granted,
          preVote: event.body.preVote,
        }),
      );
    },
    replyToBeginQuorumEpoch: ({ context, event }) => {
      if (event.type !== 'raft.begin-quorum-epoch.request') return;
      const stale = event.body.leaderEpoch < context.quorum.epoch;
      context.ports.send(
        event.from,
        message(context, 'raft.begin-quorum-epoch.response', event.correlationId, {
          errorCode: stale ? 'FENCED_LEADER_EPOCH' : null,
          leaderEpoch: context.quorum.epoch,
          leaderId: context.quorum.leaderId,
        }),
      );
    },
    replyToEndQuorumEpoch: ({ context, event }) => {
      if (event.type !== 'raft.end-quorum-epoch.request') return;
      const stale = event.body.leaderEpoch < context.quorum.epoch;
      context.ports.send(
        event.from,
        message(context, 'raft.end-quorum-epoch.response', event.correlationId, {
          errorCode: stale ? 'FENCED_LEADER_EPOCH' : null,
          leaderEpoch: context.quorum.epoch,
          leaderId: context.quorum.leaderId,
        }),
      );
    },
    /** A non-leader answers a fetch with who it believes leads, so observers and stale followers find the leader. */
    refuseFetch: ({ context, event }) => {
      if (event.type === 'raft.fetch.request') {
        const code = event.body.replicaEpoch < context.quorum.epoch ? 'FENCED_LEADER_EPOCH' : 'NOT_LEADER_OR_FOLLOWER';
        context.ports.send(event.from, message(context, 'raft.fetch.response', event.correlationId, fetchReply(context, code)));
      } else if (event.type === 'raft.fetch-snapshot.request') {
        const leads = context.role === 'leader';
        context.ports.send(
          event.from,
          message(context, 'raft.fetch-snapshot.response', event.correlationId, {
            errorCode: leads ? 'SNAPSHOT_NOT_FOUND' : 'NOT_LEADER_OR_FOLLOWER',
            leaderEpoch: context.quorum.epoch,
            leaderId: context.quorum.leaderId,
            snapshotId: event.body.snapshotId,
            size: 0,
            position: event.body.position,
            bytes: new Uint8Array(0),
          }),
        );
      }
    },
    rejectProposal: ({ context, event }) => {
      if (event.type !== 'raft.propose') return;
      context.ports.proposed(event.requestId, {
        ok: false,
        code: 'NOT_LEADER_OR_FOLLOWER',
        leaderId: context.quorum.leaderId,
        epoch: context.quorum.epoch,
      });
    },
    dropWhileBusy: ({ context, event }) => {
      context.ports.logger.trace({ event: event.type, role: context.role }, 'raft: message dropped while persisting');
    },

    // ---- elections ----
    drawElectionDelay: assign(({ context }) => {
      // An observer never runs for election: its wait is only the pause between two leader discoveries.
      if (!context.isVoter) return { electionDelayMs: context.config.observerDiscoveryMs, electionDelayOverrideMs: null };
      const override = context.electionDelayOverrideMs;
      return { electionDelayMs: override ?? drawElectionDelay(context), electionDelayOverrideMs: null };
    }),
    resetElectionBackoff: assign({ failedElections: 0 }),
    countFailedElection: assign(({ context }) => ({ failedElections: context.failedElections + 1 })),
    startRound: assign(({ context }) => ({
      granted: [context.config.nodeId],
      rejected: [],
      roundCorrelationId: context.nextCorrelationId,
      nextCorrelationId: context.nextCorrelationId + 1,
    })),
    requestVotes: ({ context }, params: { preVote: boolean }) => {
      const log = context.ports.log;
      for (const to of otherVoters(context)) {
        context.ports.send(
          to,
          message(context, 'raft.vote.request', context.roundCorrelationId, {
            candidateEpoch: params.preVote ? context.quorum.epoch + 1 : context.quorum.epoch,
            candidateId: context.config.nodeId,
            lastOffsetEpoch: log.lastEpoch(),
            lastOffset: log.endOffset(),
            preVote: params.preVote,
          }),
        );
      }
    },
    recordVote: assign(({ context, event }) => {
      if (event.type !== 'raft.vote.response') return {};
      const { granted, rejected } = context;
      if (granted.includes(event.from) || rejected.includes(event.from)) return {};
      return event.body.voteGranted ? { granted: [...granted, event.from] } : { rejected: [...rejected, event.from] };
    }),
    /** EndQuorumEpoch (KIP-595): the leader resigns; its preferred successors start their elections first. */
    scheduleEarlyElection: assign(({ context, event }) => {
      if (event.type !== 'raft.end-quorum-epoch.request') return {};
      const position = event.body.preferredSuccessors.indexOf(context.config.nodeId);
      // Strictly staggered, not random: the best-replicated successor goes first and the next one only after it had
      // time to win (random back-offs could overlap and split the vote, costing a full election timeout).
      const delay = position < 0 ? drawElectionDelay(context) : Math.min(context.config.electionBackoffMaxMs, position * raftSuccessorStaggerMs);
      return { electionDelayOverrideMs: delay };
    }),

    // ---- leader ----
    becomeLeader: assign(({ context }) => {
      const now = context.ports.clock.now();
      const log = context.ports.log;
      const replicas: Record<number, ReplicaProgress> = {};
      for (const id of otherVoters(context)) replicas[id] = { endOffset: -1, lastContactMs: null };
      context.ports.logger.info({ epoch: context.quorum.epoch }, 'raft: became leader');
      return {
        epochStartOffset: log.endOffset(),
        flushedEndOffset: log.endOffset(),
        leaderSinceMs: now,
        replicas,
        failedElections: 0,
        checkQuorumDelayMs: checkQuorumWindowMs(context),
        parkedFetches: [],
        lingeringProposals: [],
        lingeringRecords: 0,
      };
    }),
    /** KIP-595: the first entry of a new leader is a LeaderChange record of its own epoch; committing it commits the past. */
    appendLeaderChange: ({ context, self }) => {
      const log = context.ports.log;
      invariant(log.lastEpoch() <= context.quorum.epoch, 'log holds an epoch newer than the leader');
      const entry: RaftEntry = {
        offset: log.endOffset(),
        epoch: context.quorum.epoch,
        record: { type: 'leader-change', leaderId: context.config.nodeId, voters: [...context.config.voters] },
      };
      appendAsLeader(context, [entry], (e) => self.send(e));
    },
    sendBeginQuorumEpoch: ({ context }, params: { onlyUnfetched: boolean }) => {
      for (const to of otherVoters(context)) {
        if (params.onlyUnfetched && (context.replicas[to]?.lastContactMs ?? null) !== null) continue;
        context.ports.send(
          to,
          message(context, 'raft.begin-quorum-epoch.request', 0, { leaderEpoch: context.quorum.epoch, leaderId: context.config.nodeId }),
        );
      }
    },
    sendEndQuorumEpoch: ({ context }) => {
      const successors = otherVoters(context).sort(
        (a, b) => (context.replicas[b]?.endOffset ?? -1) - (context.replicas[a]?.endOffset ?? -1) || a - b,
      );
      for (const to of successors) {
        context.ports.send(
          to,
          message(context, 'raft.end-quorum-epoch.request', 0, {
            leaderEpoch: context.quorum.epoch,
            leaderId: context.config.nodeId,
            preferredSuccessors: successors,
          }),
        );
      }
    },
    serveFetch: assign(({ context, event, self }) => updates.serveFetch(context, event, self)),

    /** Answers the held fetches that have news (new entries, another high watermark) or whose wait is over. */
    answerParkedFetches: assign(({ context, event, self }) => updates.answerParkedFetches(context, event, self)),

    dropParkedFetches: assign({ parkedFetches: [] }),
    appendProposal: assign(({ context, event, self }) => updates.appendProposal(context, event, self)),
    lingerProposal: assign(({ context, event, self }) => updates.lingerProposal(context, event, self)),
    /** A leader that steps down before its lingering proposals are appended refuses them: they were never written. */
    refuseLingeringProposals: assign(({ context }) => {
      for (const p of context.lingeringProposals) {
        context.ports.proposed(p.requestId, { ok: false, code: 'NOT_LEADER_OR_FOLLOWER', leaderId: null, epoch: context.quorum.epoch });
      }
      return { lingeringProposals: [], lingeringRecords: 0 };
    }),

    recordFlush: assign(({ context, event, self }) => updates.recordFlush(context, event, self)),

    // Check again exactly when the lease would lapse; a lone voter (lease never lapses) still re-checks once a window,
    // so the timer stays a finite, sane delay for real clocks.
    scheduleQuorumCheck: assign(({ context }) => ({
      checkQuorumDelayMs: Math.min(checkQuorumWindowMs(context), Math.max(1, quorumDeadline(context) - context.ports.clock.now())),
    })),

    // ---- follower ----
    markLeaderContact: assign(({ context, event, self }) => updates.markLeaderContact(context, event, self)),
    drawFetchTimeoutJitter: assign(({ context }) => ({
      fetchTimeoutJitterMs: context.ports.random.int(Math.max(1, Math.floor(context.config.fetchTimeoutMs * raftFetchTimeoutJitterFraction))),
    })),
    noteLeaderUnreachable: assign(({ context }) => {
      context.ports.logger.info({ epoch: context.quorum.epoch, leaderId: context.quorum.leaderId }, 'raft: connection to the leader reset; probing it');
      return { leaderUnreachable: true };
    }),
    clearLeaderUnreachable: assign({ leaderUnreachable: false }),
    drawSuspectDelay: assign(({ context }) => ({
      suspectDelayMs: unreachableLeaderDelayMs(
        raftUnreachableLeaderDelayMsMin,
        raftUnreachableLeaderDelayMsMax,
        context.ports.random.next(),
        leaderDeadlineMs(context) - context.ports.clock.now(),
      ),
    })),
    sendFetch: assign(({ context }) => sendLeaderFetch(context, context.config.fetchMaxWaitMs)),
    /** A probe of a leader whose connection reset must be answered at once, not held: it is not a long poll. */
    sendProbeFetch: assign(({ context }) => sendLeaderFetch(context, 0)),
    /** An observer without a leader asks a random voter; any voter's answer names the leader it knows. */
    sendDiscoveryFetch: assign(({ context }) => {
      if (context.isVoter) return {};
      const voters = context.config.voters;
      const to = voters[context.ports.random.int(voters.length)];
      invariant(to !== undefined, 'no voters to discover the leader from');
      const log = context.ports.log;
      const correlationId = context.nextCorrelationId;
      context.ports.send(
        to,
        message(context, 'raft.fetch.request', correlationId, {
          replicaId: context.config.nodeId,
          replicaEpoch: context.quorum.epoch,
          fetchOffset: log.endOffset(),
          lastFetchedEpoch: log.lastEpoch(),
          maxEntries: 1,
        }),
      );
      return { roundCorrelationId: correlationId, nextCorrelationId: correlationId + 1 };
    }),
    stageTruncation: assign(({ context, event }) => {
      if (event.type !== 'raft.fetch.response' || event.body.divergingEpoch === null) return {};
      invariant(context.role === 'follower', 'only a follower truncates its log; a leader never does');
      const diverging = event.body.divergingEpoch;
      const offset = truncationOffset(diverging, context.ports.log.endOffsetForEpoch(diverging.epoch));
      invariant(offset >= context.highWatermark, () => `truncation to ${offset} would remove committed entries below ${context.highWatermark}`);
      invariant(offset >= context.ports.log.startOffset(), 'truncation below the log start');
      return { truncateOffset: offset };
    }),
    /**
     * Writes the fetched entries; `raft.log.appended` says they are durable (a plain promise and an event, like the
     * leader's own appends, rather than an invoked actor: this runs once per fetch answer with entries, and an actor
     * per write cost ~5% of a loaded quorum's CPU). A completion that arrives after we left `appending` is ignored by
     * its id; a failed write stops the node (`raft.log.failed`).
     */
    startFollowerAppend: assign(({ context, self }) => {
      const appendId = context.appendId + 1;
      context.ports.log.append(context.fetchedEntries).then(
        () => self.send({ type: 'raft.log.appended', appendId }),
        (error: unknown) => self.send({ type: 'raft.log.failed', reason: String(error) }),
      );
      return { appendId };
    }),
    stageEntries: assign(({ context, event, self }) => updates.stageEntries(context, event, self)),

    stageHighWatermark: assign(({ context, event, self }) => updates.stageHighWatermark(context, event, self)),

    /** Only after an agreeing fetch (and its append) does our log match the leader's up to our end. */
    advanceFollowerHighWatermark: assign(({ context, event, self }) => updates.advanceFollowerHighWatermark(context, event, self)),


    // ---- both ----
    deliverCommitted: assign(({ context, event, self }) => updates.deliverCommitted(context, event, self)),

    /** Like a failed quorum-state write, a failed log write stops the node: the actor fails, the host must stop it. */
    failOnLogError: ({ context, event }) => {
      if (event.type !== 'raft.log.failed') return;
      context.ports.logger.fatal({ reason: event.reason, epoch: context.quorum.epoch }, 'raft: log write failed');
      throw new RaftStorageError(event.reason);
    },
    // ---- snapshots (KIP-630) ----
    serveSnapshotChunk: ({ context, event }) => {
      if (event.type !== 'raft.fetch-snapshot.request') return;
      const { body } = event;
      const reply = (errorCode: ErrorCode | null, size: number, bytes: Uint8Array): void =>
        context.ports.send(
          event.from,
          message(context, 'raft.fetch-snapshot.response', event.correlationId, {
            errorCode,
            leaderEpoch: context.quorum.epoch,
            leaderId: context.config.nodeId,
            snapshotId: body.snapshotId,
            size,
            position: body.position,
            bytes,
          }),
        );
      if (body.replicaEpoch < context.quorum.epoch) return reply('FENCED_LEADER_EPOCH', 0, new Uint8Array(0));
      const latest = context.ports.log.latestSnapshot();
      if (latest === null || latest.endOffset !== body.snapshotId.endOffset || latest.epoch !== body.snapshotId.epoch) {
        return reply('SNAPSHOT_NOT_FOUND', 0, new Uint8Array(0));
      }
      // A read, not a decision: the snapshot is immutable, so answering when the read completes changes nothing here.
      context.ports.log.readSnapshot(body.snapshotId, body.position, Math.min(body.maxBytes, raftSnapshotChunkBytes)).then(
        ({ size, bytes }) => reply(body.position > size ? 'POSITION_OUT_OF_RANGE' : null, size, bytes),
        () => reply('SNAPSHOT_NOT_FOUND', 0, new Uint8Array(0)),
      );
    },
    stageSnapshotFetch: assign(({ event }) => {
      if (event.type !== 'raft.fetch.response' || event.body.snapshotId === null) return {};
      return { snapshotFetch: { id: event.body.snapshotId, size: null, received: 0, chunks: [] } };
    }),
    sendSnapshotFetch: assign(({ context }) => {
      const fetch = context.snapshotFetch;
      const leaderId = context.quorum.leaderId;
      invariant(fetch !== null && leaderId !== null, 'fetching a snapshot without a leader or a snapshot id');
      const correlationId = context.nextCorrelationId;
      context.ports.send(
        leaderId,
        message(context, 'raft.fetch-snapshot.request', correlationId, {
          replicaId: context.config.nodeId,
          replicaEpoch: context.quorum.epoch,
          snapshotId: fetch.id,
          position: fetch.received,
          maxBytes: raftSnapshotChunkBytes,
        }),
      );
      return { roundCorrelationId: correlationId, nextCorrelationId: correlationId + 1 };
    }),
    recordSnapshotChunk: assign(({ context, event }) => {
      const fetch = context.snapshotFetch;
      if (event.type !== 'raft.fetch-snapshot.response' || fetch === null) return {};
      const received = fetch.received + event.body.bytes.byteLength;
      invariant(received <= event.body.size && event.body.size <= raftSnapshotBytesMax, 'snapshot chunk past the announced size');
      return { snapshotFetch: { ...fetch, size: event.body.size, received, chunks: [...fetch.chunks, event.body.bytes] } };
    }),
    dropSnapshotFetch: assign({ snapshotFetch: null }),
    /** The log now starts at the snapshot: everything below it is committed, and the state machine restarts from it. */
    adoptSnapshot: assign(({ context }) => {
      const fetch = context.snapshotFetch;
      invariant(fetch !== null, 'adopting a snapshot that was not fetched');
      invariant(fetch.id.endOffset >= context.highWatermark, 'a snapshot from the leader ends below our high watermark');
      const highWatermark = checkHighWatermark(context, Math.max(context.highWatermark, fetch.id.endOffset));
      context.ports.listener.onLoadSnapshot(fetch.id, concatChunks(fetch.chunks));
      return { highWatermark, appliedOffset: fetch.id.endOffset, snapshotFetch: null };
    }),
  },
});

function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function checkQuorumWindowMs(context: RaftContext): number {
  // KIP-595: a leader that hears from no majority for 1.5 fetch timeouts resigns.
  return Math.floor(context.config.fetchTimeoutMs * 1.5);
}

function quorumDeadline(context: RaftContext): number {
  const contacts = otherVoters(context).map((id) => context.replicas[id]?.lastContactMs ?? null);
  return quorumContactDeadlineMs(contacts, context.config.voters.length, context.leaderSinceMs, checkQuorumWindowMs(context));
}

/** The leader's entries are readable at once; its own end offset counts for the high watermark only once durable. */
/** When a follower gives up on a silent leader (KIP-595 fetch timeout, spread per follower). */
function leaderDeadlineMs(context: RaftContext): number {
  return context.leaderContactMs + context.config.fetchTimeoutMs + context.fetchTimeoutJitterMs;
}

function sendLeaderFetch(context: RaftContext, maxWaitMs: number): Partial<RaftContext> {
  const log = context.ports.log;
  const correlationId = context.nextCorrelationId;
  const leaderId = context.quorum.leaderId;
  invariant(leaderId !== null && leaderId !== context.config.nodeId, 'fetching without another node as leader');
  context.ports.send(
    leaderId,
    message(context, 'raft.fetch.request', correlationId, {
      replicaId: context.config.nodeId,
      replicaEpoch: context.quorum.epoch,
      fetchOffset: log.endOffset(),
      lastFetchedEpoch: log.lastEpoch(),
      maxEntries: raftFetchEntriesMax,
      ...(maxWaitMs > 0 ? { maxWaitMs, highWatermark: context.highWatermark } : {}),
    }),
  );
  return { roundCorrelationId: correlationId, nextCorrelationId: correlationId + 1 };
}

/** Refuses a proposal that is malformed or would pass the bound on uncommitted entries (lingering ones included). */
function proposalAcceptable(context: RaftContext, event: ProposeEvent): boolean {
  const reject = (code: 'THROTTLING_QUOTA_EXCEEDED' | 'INVALID_REQUEST'): false => {
    context.ports.proposed(event.requestId, { ok: false, code, leaderId: context.config.nodeId, epoch: context.quorum.epoch });
    return false;
  };
  const { records } = event;
  if (records.length === 0 || records.length > raftProposalRecordsMax || records.some((r) => r.byteLength > raftRecordBytesMax)) {
    return reject('INVALID_REQUEST');
  }
  const uncommitted = context.ports.log.endOffset() - context.highWatermark + context.lingeringRecords;
  if (uncommitted + records.length > raftUncommittedEntriesMax) return reject('THROTTLING_QUOTA_EXCEEDED');
  return true;
}

/** One leader write of the proposals' records, in order; each proposal learns its offsets as the write starts. */
function appendProposalsAsLeader(context: RaftContext, proposals: readonly LingeringProposal[], self: RaftEventSink): void {
  const epoch = context.quorum.epoch;
  let offset = context.ports.log.endOffset();
  const entries: RaftEntry[] = [];
  for (const p of proposals) {
    for (const data of p.records) entries.push({ offset: offset++, epoch, record: { type: 'data', data } });
  }
  invariant(entries.length > 0, 'appending proposals without records');
  appendAsLeader(context, entries, (e) => self.send(e));
  let baseOffset = entries[0]?.offset ?? 0;
  for (const p of proposals) {
    context.ports.proposed(p.requestId, { ok: true, epoch, baseOffset, lastOffset: baseOffset + p.records.length - 1 });
    baseOffset += p.records.length;
  }
}

function appendAsLeader(context: RaftContext, entries: RaftEntry[], notify: (event: RaftEvent) => void): void {
  const epoch = context.quorum.epoch;
  const endOffset = (entries.at(-1)?.offset ?? -1) + 1;
  context.ports.log.append(entries).then(
    () => notify({ type: 'raft.log.flushed', epoch, endOffset }),
    (error: unknown) => notify({ type: 'raft.log.failed', reason: String(error) }),
  );
}
